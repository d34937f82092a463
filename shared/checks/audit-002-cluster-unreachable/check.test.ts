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
  ],
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
