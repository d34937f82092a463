import { describe, expect, it } from 'vitest';
import { runAudit } from '../../engine/run-audit.ts';
import type { Fleet } from '../../model/fleet.ts';
import { parseKubernetesFile } from '../../snapshot/parse-files.ts';
import { describeCheck, FIXTURE_NOW, runCheck } from '../../testing/check-harness.ts';
import { type HealthyIrsa, healthyIrsa, type PodOptions } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const SHOP = { accountId: '111122223333', region: 'us-west-2', cluster: 'demo', namespace: 'shop' };
const API = { ...SHOP, serviceAccount: 'api', workload: { kind: 'Deployment', name: 'api' } };

function fleet(change: (h: HealthyIrsa) => void) {
  return () => {
    const h = healthyIrsa();
    change(h);
    return h.fleet.build();
  };
}

/** The healthy Deployment shop/api (mutated with the demo role), its pods given `options` too. */
function api(options: Partial<PodOptions>) {
  return fleet((h) => {
    const pods = h.cluster.kubernetes.pods ?? [];
    pods.splice(0, pods.length);
    h.cluster.deployment('shop', 'api', 2, {
      serviceAccountName: 'api',
      mutatedWith: h.role.arn,
      ...options,
    });
  });
}

const FROM_SECRET = {
  AWS_ACCESS_KEY_ID: { kind: 'secretKeyRef', name: 'aws-creds', key: 'access-key-id' },
  AWS_SECRET_ACCESS_KEY: { kind: 'secretKeyRef', name: 'aws-creds', key: 'secret-access-key' },
};

/** The healthy fleet's AWS side, with the cluster's Kubernetes objects read from `kubernetes.json` text. */
function parsed(pods: readonly Record<string, unknown>[]) {
  return (): Fleet => {
    const h = healthyIrsa();
    const result = parseKubernetesFile(JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }));
    if (!result.ok) throw new Error(JSON.stringify(result.problem));
    h.cluster.cluster.kubernetes = {
      serviceAccounts: [...(result.value.serviceAccounts ?? [])],
      pods: [...(result.value.pods ?? [])],
      webhookConfigurations: [...(result.value.webhookConfigurations ?? [])],
      namespaces: null,
      services: [],
      endpointSlices: [],
    };
    return h.fleet.build();
  };
}

/** A bare pod `shop/tool` of SA default, as `kubectl get pods -o json` (or the collector) prints it. */
function barePod(env: readonly Record<string, unknown>[], init: readonly Record<string, unknown>[] = []) {
  return {
    kind: 'Pod',
    metadata: { name: 'tool', namespace: 'shop' },
    spec: {
      serviceAccountName: 'default',
      initContainers: init.length > 0 ? [{ name: 'fetch', env: init }] : undefined,
      containers: [{ name: 'shell', env }],
    },
    status: { phase: 'Running' },
  };
}
const TOOL = { ...SHOP, serviceAccount: 'default', workload: { kind: 'Pod', name: 'tool' } };

describeCheck(check, {
  pass: [
    { name: 'healthy IRSA', fleet: () => healthyIrsa().fleet.build() },
    {
      name: 'AWS_SESSION_TOKEN alone, AWS_PROFILE, and look-alike names are not static credentials',
      fleet: api({
        extraEnv: {
          AWS_SESSION_TOKEN: '<redacted>',
          AWS_PROFILE: 'prod',
          AWS_ACCESS_KEY_ID_FILE: '/secrets/key',
          aws_access_key_id: '<redacted>',
          MY_AWS_SECRET_ACCESS_KEY: '<redacted>',
        },
      }),
    },
    {
      name: 'the aws-ebs-csi-driver default: optional Secret references are not judged',
      fleet: api({
        valueFrom: {
          AWS_ACCESS_KEY_ID: { kind: 'secretKeyRef', name: 'aws-secret', key: 'key_id', optional: true },
          AWS_SECRET_ACCESS_KEY: {
            kind: 'secretKeyRef',
            name: 'aws-secret',
            key: 'access_key',
            optional: true,
          },
        },
      }),
    },
    {
      name: 'a container named in eks.amazonaws.com/skip-containers is not judged, as in every pod check',
      fleet: api({
        containers: ['app', 'legacy'],
        envContainers: ['legacy'],
        annotations: { 'eks.amazonaws.com/skip-containers': 'other, legacy' },
        valueFrom: FROM_SECRET,
      }),
    },
    {
      name: 'finished pods with keys are ignored',
      fleet: fleet((h) => {
        h.cluster.pod('shop', 'done', {
          serviceAccountName: 'api',
          phase: 'Succeeded',
          valueFrom: FROM_SECRET,
        });
        h.cluster.pod('shop', 'crashed', {
          serviceAccountName: 'api',
          phase: 'Failed',
          extraEnv: { AWS_ACCESS_KEY_ID: '<redacted>' },
        });
      }),
    },
    {
      name: 'read from kubernetes.json: an empty value, a fieldRef, a malformed valueFrom, and a later empty entry',
      fleet: parsed([
        barePod([
          { name: 'AWS_ACCESS_KEY_ID', value: '' },
          {
            name: 'AWS_SECRET_ACCESS_KEY',
            valueFrom: { fieldRef: { fieldPath: "metadata.annotations['k']" } },
          },
          { name: 'AWS_SESSION_TOKEN', value: '<redacted>' },
        ]),
        {
          ...barePod([
            { name: 'AWS_ACCESS_KEY_ID', value: '<redacted>' },
            { name: 'AWS_ACCESS_KEY_ID' },
            { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: 'not an object' },
          ]),
          metadata: { name: 'tool-2', namespace: 'shop' },
        },
      ]),
    },
  ],
  fail: [
    {
      name: 'a mutated Deployment given keys from a Secret: its role is never used',
      fleet: api({ valueFrom: FROM_SECRET }),
      expect: [API],
      mentions: [
        '2 of 2 pod(s) of Deployment shop/api',
        'AWS_ACCESS_KEY_ID (secretKeyRef aws-creds/access-key-id)',
        'AWS_SECRET_ACCESS_KEY (secretKeyRef aws-creds/secret-access-key)',
        'role arn:aws:iam::111122223333:role/demo-api',
        'kubectl --context demo set env deployment/api -n shop -c app AWS_ACCESS_KEY_ID- AWS_SECRET_ACCESS_KEY-',
        'delete secret -n shop aws-creds',
        '# first grant arn:aws:iam::111122223333:role/demo-api what the keys were for',
      ],
      absent: ['literal', 'not judged', 'AWS_SESSION_TOKEN-', 'annotate serviceaccount'],
    },
    {
      name: 'one variable is enough: a literal AWS_SECRET_ACCESS_KEY on the sidecar only, with its session token',
      fleet: api({
        containers: ['app', 'sidecar'],
        envContainers: ['sidecar'],
        extraEnv: { AWS_SECRET_ACCESS_KEY: '<redacted>', AWS_SESSION_TOKEN: '<redacted>' },
      }),
      expect: [API],
      mentions: [
        'container sidecar sets AWS_SECRET_ACCESS_KEY (literal)',
        'set env deployment/api -n shop -c sidecar AWS_SECRET_ACCESS_KEY- AWS_SESSION_TOKEN-',
      ],
      absent: ['-c app', 'delete secret', '<redacted>'],
    },
    {
      name: 'a container served by EKS Pod Identity counts too: environment keys come first',
      fleet: api({
        extraEnv: {
          AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
          AWS_ACCESS_KEY_ID: '<redacted>',
          AWS_SECRET_ACCESS_KEY: '<redacted>',
        },
        annotations: { 'eks.amazonaws.com/skip-containers': 'sidecar' },
      }),
      expect: [API],
      mentions: ['container app sets AWS_ACCESS_KEY_ID (literal) and AWS_SECRET_ACCESS_KEY (literal)'],
    },
    {
      name: 'a ConfigMap reference marked optional: false counts, an optional one beside it is noted',
      fleet: api({
        valueFrom: {
          AWS_ACCESS_KEY_ID: { kind: 'configMapKeyRef', name: 'settings', key: 'id', optional: false },
          AWS_SECRET_ACCESS_KEY: { kind: 'secretKeyRef', name: 'maybe', key: 'secret', optional: true },
        },
      }),
      expect: [API],
      mentions: [
        'AWS_ACCESS_KEY_ID (configMapKeyRef settings/id)',
        'not judged',
        'secretKeyRef maybe/secret',
      ],
      absent: ['delete secret'],
    },
    {
      name: 'one pod of three, mid-rollout: one finding for the Deployment',
      fleet: fleet((h) => {
        const [, , third] = h.cluster.deployment('shop', 'worker', 3, {
          serviceAccountName: 'worker',
        });
        if (!third) throw new Error('no third pod');
        const keyed = h.cluster.pod('shop', 'unused', {
          serviceAccountName: 'worker',
          extraEnv: { AWS_ACCESS_KEY_ID: '<redacted>', AWS_SECRET_ACCESS_KEY: '<redacted>' },
        });
        Object.assign(third, { containers: keyed.containers });
        h.cluster.kubernetes.pods?.splice(h.cluster.kubernetes.pods.indexOf(keyed), 1);
      }),
      expect: [{ ...SHOP, serviceAccount: 'worker', workload: { kind: 'Deployment', name: 'worker' } }],
      mentions: [
        '1 of 3 pod(s)',
        'long-lived keys instead of the role of a service account',
        'annotate serviceaccount -n shop worker eks.amazonaws.com/role-arn=ROLE_ARN',
      ],
      absent: ['is never used'],
    },
    {
      name: 'read from kubernetes.json: a bare pod, literal keys in its init container, a later entry winning',
      fleet: parsed([
        barePod(
          [
            {
              name: 'AWS_ACCESS_KEY_ID',
              valueFrom: { secretKeyRef: { name: 's', key: 'k', optional: true } },
            },
            { name: 'AWS_ACCESS_KEY_ID', value: 'AKIAEXAMPLEEXAMPLE00' },
          ],
          [{ name: 'AWS_SECRET_ACCESS_KEY', value: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' }],
        ),
      ]),
      expect: [TOOL],
      mentions: [
        'container fetch sets AWS_SECRET_ACCESS_KEY (literal); container shell sets AWS_ACCESS_KEY_ID (literal)',
        'kubectl --context demo delete pod -n shop tool',
        '# remove AWS_SECRET_ACCESS_KEY from container fetch in the manifest of Pod tool',
      ],
      absent: ['AKIAEXAMPLEEXAMPLE00', 'wJalrXUtnFEMI', 'set env', 'not judged'],
    },
    {
      name: 'names from the cluster are quoted in the command',
      fleet: parsed([
        {
          kind: 'Pod',
          metadata: {
            name: 'job-x',
            namespace: 'shop',
            ownerReferences: [{ kind: 'Job', name: 'nightly-29000000', controller: true }],
          },
          spec: {
            serviceAccountName: 'default',
            containers: [
              {
                name: 'my app',
                env: [
                  { name: 'AWS_ACCESS_KEY_ID', valueFrom: { secretKeyRef: { name: 'a;b', key: 'c' } } },
                  { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: '$(x)', key: 'd' } } },
                ],
              },
            ],
          },
          status: { phase: 'Pending' },
        },
      ]),
      expect: [{ ...SHOP, workload: { kind: 'CronJob', name: 'nightly' } }],
      mentions: [
        "set env cronjob/nightly -n shop -c 'my app' AWS_ACCESS_KEY_ID- AWS_SECRET_ACCESS_KEY-",
        "delete secret -n shop 'a;b'",
        "delete secret -n shop '$(x)'",
      ],
    },
  ],
});

describe('IRSA-034 pod-static-credentials, beyond the fixtures', () => {
  it('says on a pass which references it did not judge', () => {
    const results = runCheck(
      check,
      api({
        valueFrom: {
          AWS_ACCESS_KEY_ID: { kind: 'secretKeyRef', name: 'aws-secret', key: 'key_id', optional: true },
        },
      })(),
    );
    expect(results.map((r) => r.status)).toEqual(['pass']);
    expect(results[0]?.message).toContain(
      'not judged: AWS_ACCESS_KEY_ID of container app from secretKeyRef aws-secret/key_id',
    );
  });

  it('is not evaluated when the pod list could not be read whole', () => {
    const model = api({ valueFrom: FROM_SECRET })();
    const cluster = model.accounts[0]?.clusters[0];
    if (!cluster) throw new Error('no cluster');
    const failed = {
      ...cluster,
      collectionErrors: [
        {
          api: 'k8s:pods',
          code: 'InternalError',
          message: 'the pods list failed on page 2',
          kind: 'Pod' as const,
        },
      ],
    };
    const broken: Fleet = {
      ...model,
      accounts: model.accounts.map((a, i) =>
        i === 0 ? { ...a, clusters: [failed, ...a.clusters.slice(1)] } : a,
      ),
    };
    const report = runAudit(broken, { now: FIXTURE_NOW, checkIds: ['IRSA-034'] });
    const about = report.findings.filter((f) => f.workload?.name === 'api');
    expect(about.map((f) => f.status)).toEqual(['not-evaluated']);
    expect(report.findings.some((f) => f.status === 'fail')).toBe(false);
  });
});
