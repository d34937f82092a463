import {
  clusterPodIdentityWebhooks,
  isActivePod,
  type LocatedWebhook,
  WEBHOOKS_NOT_COLLECTED,
  workloadOf,
} from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import type { Cluster, Pod, Service, SliceEndpoint } from '../../model/fleet.ts';
import { sh } from '../../sinks/shell.ts';
import { isEksManagedWebhook } from '../irsa-062-webhook-failure-policy-ignore/check.ts';
import { clusterSubject, resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'IRSA-064',
  name: 'webhook-service-no-endpoint',
  title: 'A self-managed pod identity webhook has no ready endpoint behind its Service',
  severity: 'critical',
  scope: 'cluster',
  risk: 'The API server cannot call the webhook: with failurePolicy Fail every new pod it selects is rejected ("failed calling webhook"), with Ignore every new pod starts without AWS_ROLE_ARN and the token and silently uses the node role.',
  remediation:
    "Find out why the webhook's pods are not ready (or why its Service is gone) and bring them back: look at the Deployment behind the Service, its pods and their events; then restart the workloads created while it was down (IRSA-030).",
  references: [
    'https://github.com/aws/amazon-eks-pod-identity-webhook/blob/master/SELF_HOSTED_SETUP.md',
    'https://kubernetes.io/docs/concepts/services-networking/endpoint-slices/#conditions',
    'https://kubernetes.io/docs/reference/access-authn-authz/extensible-admission-controllers/#service-reference',
  ],
};

const results = resultsFor(metadata);

/** The label that ties an EndpointSlice to its Service. */
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Ready as Kubernetes defines it for an EndpointSlice: `conditions.ready` true, or absent (unknown reads as ready). */
export function isReadyEndpoint(endpoint: SliceEndpoint): boolean {
  return endpoint.ready !== false;
}

/** The Service one or more pod identity webhooks call, and how it stands in the snapshot. */
interface ServedBy {
  readonly namespace: string;
  readonly name: string;
  readonly webhooks: LocatedWebhook[];
}

/** `app=web,tier=api`: a Service selector as `kubectl -l` takes it. */
function selectorArgument(selector: Readonly<Record<string, string>>): string {
  return Object.entries(selector)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** The active pods of the Service's namespace its selector selects (all of `selector` equal). */
function podsBehind(cluster: Cluster, service: Service): readonly Pod[] | null {
  const pods = cluster.kubernetes?.pods;
  const selector = service.selector;
  if (!pods || !selector || Object.keys(selector).length === 0) return null;
  return pods.filter(
    (p) =>
      p.namespace === service.namespace &&
      isActivePod(p) &&
      Object.entries(selector).every(([k, v]) => p.labels[k] === v),
  );
}

/** What a webhook that cannot be called does to new pods, by its failure policy. */
function consequence(webhooks: readonly LocatedWebhook[]): string {
  const policies = new Set(webhooks.map((w) => w.webhook.failurePolicy));
  if (policies.size === 1 && policies.has('Fail'))
    return 'new pods it selects are rejected (failurePolicy Fail: "failed calling webhook")';
  if (policies.size === 1 && policies.has('Ignore'))
    return 'new pods are admitted without IRSA credentials and use the node role (failurePolicy Ignore), and nothing reports it';
  return 'new pods are rejected (failurePolicy Fail) or admitted without IRSA credentials (Ignore)';
}

/**
 * IRSA-064: every self-managed pod identity webhook (`clientConfig.service`) has a Service with at
 * least one ready endpoint in its EndpointSlices. A webhook called at a URL (EKS's own, on the
 * control plane's loopback, or any other) is not reached through a Service: it passes, said so. An
 * `ExternalName` Service has no endpoints by design (the API server calls the name it holds):
 * passes, said so. A snapshot without the Services and EndpointSlices (written before they were
 * collected) is not evaluated.
 */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  // The pods behind the Service are read for the message and the fix only.
  reads: reads('cluster', 'MutatingWebhookConfiguration', 'Service', 'EndpointSlice'),
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      const subject = clusterSubject(cluster);
      const located = clusterPodIdentityWebhooks(cluster);
      if (located === null) {
        out.push(results.notEvaluated(subject, WEBHOOKS_NOT_COLLECTED));
        continue;
      }
      if (located.length === 0) continue; // IRSA-003 reports the missing webhook.
      const byService = new Map<string, ServedBy>();
      for (const l of located) {
        const service = l.webhook.service;
        if (!service) continue;
        const key = `${service.namespace}/${service.name}`;
        const entry = byService.get(key) ?? {
          namespace: service.namespace,
          name: service.name,
          webhooks: [],
        };
        entry.webhooks.push(l);
        byService.set(key, entry);
      }
      if (byService.size === 0) {
        const eks = located.every((l) => isEksManagedWebhook(l.webhook));
        out.push(
          results.pass(
            subject,
            eks
              ? `the pod identity webhook of ${cluster.name} is EKS's own, called at a URL on the control plane: no Service to judge`
              : `the pod identity webhook of ${cluster.name} is called at a URL (${located.map((l) => l.webhook.url ?? 'none').join(', ')}), not through a Service: no Service to judge`,
            { webhooks: located.map((l) => ({ webhook: l.webhook.name, url: l.webhook.url })) },
          ),
        );
        continue;
      }
      const services = cluster.kubernetes?.services ?? null;
      const slices = cluster.kubernetes?.endpointSlices ?? null;
      if (services === null || slices === null) {
        out.push(
          results.notEvaluated(
            subject,
            `the snapshot does not record the Service and EndpointSlices behind webhook ${[...byService.values()].flatMap((s) => s.webhooks.map((w) => w.webhook.name)).join(', ')} (collected before they were kept)`,
          ),
        );
        continue;
      }
      const problems: string[] = [];
      const fixes: string[] = [];
      const failing: LocatedWebhook[] = [];
      const judged: Record<string, unknown>[] = [];
      const fine: string[] = [];
      for (const served of byService.values()) {
        const ref = `${served.namespace}/${served.name}`;
        const names = served.webhooks.map((w) => w.webhook.name).join(', ');
        const configurations = [...new Set(served.webhooks.map((w) => w.configuration))];
        const ns = served.namespace;
        const service = services.find((s) => s.namespace === ns && s.name === served.name);
        if (!service) {
          problems.push(`webhook ${names} calls Service ${ref}, which does not exist`);
          for (const webhook of served.webhooks) failing.push(webhook);
          judged.push({ service: ref, webhooks: names, exists: false });
          fixes.push(
            [
              sh`kubectl --context ${cluster.name} -n ${ns} get services,deployments,pods -o wide   # Service ${served.name} does not exist: is the webhook deployed, under another name?`,
              ...configurations.map(
                (c) =>
                  sh`kubectl --context ${cluster.name} get mutatingwebhookconfiguration ${c} -o yaml   # clientConfig.service names ${ref}: redeploy the webhook's Service, or point it at the one that exists`,
              ),
            ].join('\n'),
          );
          continue;
        }
        if (service.type === 'ExternalName') {
          fine.push(
            `Service ${ref} is of type ExternalName (the API server calls the name it holds; no endpoints to judge)`,
          );
          judged.push({ service: ref, webhooks: names, exists: true, type: service.type });
          continue;
        }
        const endpoints = slices
          .filter((s) => s.namespace === ns && s.serviceName === served.name)
          .flatMap((s) => s.endpoints);
        const ready = endpoints.filter(isReadyEndpoint);
        const behind = podsBehind(cluster, service);
        const notReady = endpoints
          .filter((e) => !isReadyEndpoint(e))
          .map((e) =>
            e.target
              ? `${e.target.kind ?? 'object'} ${e.target.name ?? '?'}`
              : 'an endpoint without targetRef',
          );
        judged.push({
          service: ref,
          webhooks: names,
          exists: true,
          type: service.type,
          selector: service.selector,
          endpoints: endpoints.length,
          readyEndpoints: ready.length,
          notReady,
          podsBehind: behind?.map((p) => ({ pod: p.name, phase: p.phase })) ?? null,
        });
        if (ready.length > 0) {
          fine.push(`Service ${ref} has ${ready.length} ready endpoint(s)`);
          continue;
        }
        for (const webhook of served.webhooks) failing.push(webhook);
        const why =
          endpoints.length === 0
            ? service.selector && Object.keys(service.selector).length > 0
              ? `no endpoint (${behind === null ? 'its selector' : behind.length === 0 ? 'no running pod matches its selector' : `${behind.length} pod(s) match its selector`} ${selectorArgument(service.selector)})`
              : 'no endpoint (it has no selector: its endpoints are managed by hand)'
            : `${endpoints.length} endpoint(s), none ready (${notReady.join(', ')})`;
        problems.push(`webhook ${names} calls Service ${ref}, which has ${why}`);
        const look = [
          sh`kubectl --context ${cluster.name} -n ${ns} describe service ${served.name}`,
          sh`kubectl --context ${cluster.name} -n ${ns} get endpointslices -l ${`${SERVICE_NAME_LABEL}=${served.name}`} -o yaml`,
        ];
        if (service.selector && Object.keys(service.selector).length > 0) {
          const selector = selectorArgument(service.selector);
          look.push(
            sh`kubectl --context ${cluster.name} -n ${ns} get pods -l ${selector} -o wide`,
            sh`kubectl --context ${cluster.name} -n ${ns} describe pods -l ${selector}   # readiness probe, image, scheduling, the events`,
          );
        }
        const workloads = new Map<string, { kind: string; name: string }>();
        for (const pod of behind ?? []) {
          const w = workloadOf(pod);
          workloads.set(`${w.kind}/${w.name}`, w);
        }
        for (const w of workloads.values()) {
          if (w.kind === 'Pod') continue;
          const resource = `${w.kind.toLowerCase()}/${w.name}`;
          look.push(
            sh`kubectl --context ${cluster.name} -n ${ns} describe ${resource}`,
            sh`kubectl --context ${cluster.name} -n ${ns} rollout status ${resource} --timeout=60s`,
          );
        }
        if (workloads.size === 0) {
          look.push(
            sh`kubectl --context ${cluster.name} -n ${ns} get deployments,daemonsets -o wide   # no pod behind the Service in the snapshot: is the webhook's Deployment scaled to zero, or are its labels not the Service's selector?`,
          );
        }
        fixes.push(look.join('\n'));
      }
      const evidence = { services: judged };
      if (problems.length === 0) {
        out.push(
          results.pass(
            subject,
            `the pod identity webhook of ${cluster.name} can be called: ${fine.join('; ')}`,
            evidence,
          ),
        );
        continue;
      }
      out.push(
        results.fail(
          subject,
          `The pod identity webhook on cluster ${cluster.name} cannot be called: ${problems.join('; ')}. Until it can, ${consequence(failing)}.`,
          evidence,
          `${fixes.join('\n')}\n# once it is ready again, restart the workloads created meanwhile (see IRSA-030)`,
        ),
      );
    }
    return out;
  },
};
