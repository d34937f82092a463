import { describe, expect, it } from 'vitest';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import {
  type HealthyIrsa,
  healthyIrsa,
  healthyWith,
  irsaTrustPolicy,
  oidcIdFor,
} from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const ACCOUNT = '111122223333';
const SA = 'system:serviceaccount:shop:api';

const eksIssuer = (region: string, seed: string) => `oidc.eks.${region}.amazonaws.com/id/${oidcIdFor(seed)}`;
const providerArn = (issuer: string) => `arn:aws:iam::${ACCOUNT}:oidc-provider/${issuer}`;

/** A trust with one IRSA statement per issuer. */
function trustOf(...issuers: string[]) {
  return {
    Version: '2012-10-17',
    Statement: issuers.flatMap(
      (issuer) => irsaTrustPolicy(providerArn(issuer), issuer, SA).Statement as unknown[],
    ),
  };
}

/** The healthy fleet plus role `stale` with the trust `build` returns. */
function withRole(build: (h: HealthyIrsa) => unknown) {
  return () => {
    const h = healthyIrsa();
    h.account.role('stale', build(h));
    return h.fleet.build();
  };
}

const DELETED = eksIssuer('us-west-2', 'deleted-cluster');
const staleRole = [{ accountId: ACCOUNT, region: null, cluster: null, roleName: 'stale' }];

describeCheck(check, {
  pass: [
    {
      name: 'healthy IRSA (the role trusts the live cluster demo)',
      fleet: () => healthyIrsa().fleet.build(),
    },
    {
      name: 'roles trusting non-EKS providers or services are not judged',
      fleet: withRole(() => ({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: {
              Federated: `arn:aws:iam::${ACCOUNT}:oidc-provider/token.actions.githubusercontent.com`,
            },
            Action: 'sts:AssumeRoleWithWebIdentity',
          },
          { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      })),
    },
    {
      name: 'a cluster of another audited account counts as existing',
      fleet: healthyWith((h) => {
        const other = h.fleet.account('444455556666');
        const live = other.cluster('elsewhere');
        h.account.role('stale', trustOf(live.issuer));
      }),
    },
    {
      name: 'a provider in a region outside the snapshot is not judged when another is live',
      fleet: withRole((h) => trustOf(h.cluster.issuer, eksIssuer('eu-central-1', 'far'))),
    },
  ],
  fail: [
    {
      name: 'a role trusting the provider of a deleted cluster',
      fleet: withRole(() => trustOf(DELETED)),
      expect: staleRole,
      mentions: [providerArn(DELETED), 'update-assume-role-policy --role-name stale'],
    },
    {
      name: 'one finding per role, even with a live and two stale providers',
      fleet: withRole((h) => trustOf(h.cluster.issuer, DELETED, eksIssuer('us-west-2', 'also-deleted'))),
      expect: staleRole,
      mentions: [providerArn(DELETED), providerArn(eksIssuer('us-west-2', 'also-deleted'))],
    },
    {
      name: 'the same stale provider in two statements is listed once',
      fleet: withRole(() => trustOf(DELETED, DELETED)),
      expect: staleRole,
      mentions: [`"staleProviders":["${providerArn(DELETED)}"]`],
    },
  ],
  notEvaluated: [
    {
      name: 'the trusted providers are all in regions outside the snapshot',
      fleet: withRole(() => trustOf(eksIssuer('eu-central-1', 'far'))),
      expect: staleRole,
    },
  ],
});

describe('with a cluster of unknown issuer', () => {
  // The cluster directory exists but its issuer is unknown (AUDIT-004): stale trust cannot be decided.
  it('is not evaluated (not failed) for a role trusting the provider of a cluster without cluster.json data', () => {
    const model = (() => {
      const h = healthyIrsa();
      h.cluster.cluster.info = null;
      return h.fleet.build();
    })();
    expect(runCheck(check, model).map((r) => r.status)).toEqual(['not-evaluated']);
  });
});
