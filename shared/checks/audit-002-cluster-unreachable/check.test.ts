import { describe, expect, it } from 'vitest';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import { healthyWith } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const DEMO = { accountId: '111122223333', cluster: 'demo' };

describeCheck(check, {
  pass: [{ name: 'a cluster whose API answered', fleet: healthyWith(() => {}) }],
  fail: [
    {
      name: 'no access entry (401)',
      fleet: healthyWith((h) => {
        h.cluster.cluster.kubernetes = null;
        h.cluster.cluster.collectionErrors.push({
          api: 'k8s:serviceaccounts',
          code: 'Unauthorized',
          message: 'HTTP 401',
        });
      }),
      expect: [DEMO],
      mentions: ['no access entry', 'aws eks create-access-entry --cluster-name demo'],
    },
    {
      name: 'a private endpoint that does not answer',
      fleet: healthyWith((h) => {
        h.cluster.cluster.kubernetes = null;
        h.cluster.cluster.collectionErrors.push({
          api: 'k8s:serviceaccounts',
          code: 'ETIMEDOUT',
          message: 'connect timed out',
        });
      }),
      expect: [DEMO],
      mentions: ['private endpoint'],
    },
    {
      name: 'a TLS failure',
      fleet: healthyWith((h) => {
        h.cluster.cluster.kubernetes = null;
        h.cluster.cluster.collectionErrors.push({
          api: 'k8s:serviceaccounts',
          code: 'TLS',
          message: 'self-signed certificate',
        });
      }),
      expect: [DEMO],
      mentions: ['does not verify against the cluster CA'],
    },
    {
      name: 'a name that does not resolve: DNS, not the access entry',
      fleet: healthyWith((h) => {
        h.cluster.cluster.kubernetes = null;
        h.cluster.cluster.collectionErrors.push({
          api: 'k8s',
          code: 'ENOTFOUND',
          class: 'unreachable',
          message: 'getaddrinfo ENOTFOUND abc.gr7.eu-west-1.eks.amazonaws.com',
        });
      }),
      expect: [DEMO],
      mentions: ['does not resolve', 'nslookup ', 'endpointPublicAccess'],
      absent: ['create-access-entry'],
    },
    {
      name: 'no answer within the deadline',
      fleet: healthyWith((h) => {
        h.cluster.cluster.kubernetes = null;
        h.cluster.cluster.collectionErrors.push({
          api: 'k8s',
          code: 'Timeout',
          class: 'unreachable',
          message: 'no answer within 300 s (TLS handshake)',
        });
      }),
      expect: [DEMO],
      mentions: ['no answer within 300 s', 'did not answer in time', '--cluster-deadline'],
      absent: ['create-access-entry'],
    },
    {
      name: "public access CIDRs that exclude the auditor's egress",
      fleet: healthyWith((h) => {
        h.cluster.cluster.kubernetes = null;
        h.cluster.cluster.collectionErrors.push({
          api: 'k8s',
          code: 'PublicCidrs',
          class: 'unreachable',
          message:
            'the public endpoint admits only 10.0.0.0/8 (publicAccessCidrs), which exclude 203.0.113.7',
        });
      }),
      expect: [DEMO],
      mentions: ['public access CIDRs', 'update-cluster-config --name demo', 'publicAccessCidrs='],
      absent: ['create-access-entry'],
    },
    {
      name: 'a page larger than the byte bound: the setting, not the access entry',
      fleet: healthyWith((h) => {
        h.cluster.cluster.kubernetes = null;
        h.cluster.cluster.collectionErrors.push({
          api: 'k8s:pods',
          code: 'PageTooLarge',
          class: 'malformed',
          message:
            'the pods page is larger than 64 MiB (Content-Length 90000000; maxPageBytes 67108864): not read further',
        });
      }),
      expect: [DEMO],
      mentions: [
        'maxPageBytes 67108864',
        "get --raw '/api/v1/pods?limit=500'",
        "the collector's maxPageBytes",
      ],
      absent: ['create-access-entry'],
    },
    {
      name: 'a continue token that repeats: a misbehaving server, nothing to set',
      fleet: healthyWith((h) => {
        h.cluster.cluster.kubernetes = null;
        h.cluster.cluster.collectionErrors.push({
          api: 'k8s:serviceaccounts',
          code: 'ContinueLoop',
          class: 'malformed',
          message: 'the serviceaccounts list loops: page 2 gave the continue token page 1 gave',
        });
      }),
      expect: [DEMO],
      mentions: ['would loop forever', "/api/v1/serviceaccounts?limit=1'", 'is misbehaving'],
      absent: ['create-access-entry'],
    },
    {
      name: 'an answer that trickles',
      fleet: healthyWith((h) => {
        h.cluster.cluster.kubernetes = null;
        h.cluster.cluster.collectionErrors.push({
          api: 'k8s:pods',
          code: 'Trickle',
          class: 'unreachable',
          message:
            'the pods answer trickled: 900 bytes in the last 10 s (4000 bytes in 40 s in all), below 16 KiB/s',
        });
      }),
      expect: [DEMO],
      mentions: ['too slowly', 'speed_download', "the collector's minBytesPerSecond"],
      absent: ['create-access-entry'],
    },
    {
      name: 'a private endpoint that was not dialled',
      fleet: healthyWith((h) => {
        h.cluster.cluster.kubernetes = null;
        h.cluster.cluster.collectionErrors.push({
          api: 'k8s',
          code: 'PrivateEndpoint',
          class: 'unreachable',
          message: 'the public endpoint is off',
        });
      }),
      expect: [DEMO],
      mentions: ['public endpoint is off', '--private-endpoints-reachable', 'AUDIT_PRIVATE_ENDPOINTS=dial'],
    },
  ],
});

describe('AUDIT-002 when the cluster could not be described', () => {
  it('is not evaluated: the Kubernetes API was not tried (AUDIT-003 reports the DescribeCluster)', () => {
    const fleet = healthyWith((h) => {
      h.cluster.cluster.kubernetes = null;
      h.cluster.cluster.info = null;
      h.cluster.cluster.collectionErrors.push({
        api: 'eks:DescribeCluster',
        code: 'AccessDeniedException',
        class: 'denied',
        message: 'not authorized',
      });
    });
    const results = runCheck(check, fleet());
    expect(results.map((r) => r.status)).toEqual(['not-evaluated']);
  });
});

describe('AUDIT-002 and a denied list', () => {
  it('leaves a single denied list to AUDIT-003', () => {
    const fleet = healthyWith((h) => {
      h.cluster.kubernetes.webhookConfigurations = null;
      h.cluster.cluster.collectionErrors.push({
        api: 'k8s:mutatingwebhookconfigurations',
        code: 'Forbidden',
        message: 'HTTP 403',
        kind: 'MutatingWebhookConfiguration',
      });
    })();
    expect(runCheck(check, fleet).map((r) => r.status)).toEqual(['pass']);
  });
});
