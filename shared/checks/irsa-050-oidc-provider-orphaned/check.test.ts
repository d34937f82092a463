import { describe, expect, it } from 'vitest';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import { type HealthyIrsa, healthyIrsa, oidcIdFor } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';

const eksIssuer = (region: string, seed: string) => `oidc.eks.${region}.amazonaws.com/id/${oidcIdFor(seed)}`;
const providerArn = (account: string, issuer: string) => `arn:aws:iam::${account}:oidc-provider/${issuer}`;

function fleet(change: (h: HealthyIrsa) => void) {
  return () => {
    const h = healthyIrsa();
    change(h);
    return h.fleet.build();
  };
}

const DELETED = eksIssuer('us-west-2', 'deleted-cluster');

describeCheck(check, {
  pass: [
    { name: 'healthy IRSA (the provider of cluster demo)', fleet: () => healthyIrsa().fleet.build() },
    {
      name: 'a provider for a cluster of another audited account is not orphaned',
      fleet: fleet((h) => h.fleet.account(OTHER_ACCOUNT).provider(h.cluster.issuer)),
    },
    {
      name: 'non-EKS providers are ignored',
      fleet: fleet((h) => {
        h.account.provider('token.actions.githubusercontent.com');
        h.account.provider('accounts.google.com', ['my-app']);
      }),
    },
  ],
  fail: [
    {
      name: 'a provider for an EKS issuer of no cluster in an audited region',
      fleet: fleet((h) => h.account.provider(DELETED)),
      expect: [
        { accountId: ACCOUNT, region: 'us-west-2', cluster: null, resource: providerArn(ACCOUNT, DELETED) },
      ],
      mentions: [
        DELETED,
        `aws iam delete-open-id-connect-provider --open-id-connect-provider-arn ${providerArn(ACCOUNT, DELETED)}`,
      ],
    },
    {
      name: 'one finding per orphaned provider, including a region directory without clusters',
      fleet: fleet((h) => {
        h.account.regions.add('eu-west-1');
        h.account.provider(DELETED);
        h.account.provider(eksIssuer('eu-west-1', 'gone-too'));
      }),
      expect: [
        { accountId: ACCOUNT, resource: providerArn(ACCOUNT, DELETED) },
        { accountId: ACCOUNT, resource: providerArn(ACCOUNT, eksIssuer('eu-west-1', 'gone-too')) },
      ],
    },
    {
      name: 'the provider of a deleted cluster in another account of the fleet',
      fleet: fleet((h) => h.fleet.account(OTHER_ACCOUNT).provider(DELETED)),
      expect: [
        { accountId: OTHER_ACCOUNT, region: 'us-west-2', resource: providerArn(OTHER_ACCOUNT, DELETED) },
      ],
    },
  ],
  notEvaluated: [
    {
      name: 'a provider for a region not in the snapshot',
      fleet: fleet((h) => h.account.provider(eksIssuer('eu-central-1', 'elsewhere'))),
      expect: [
        { accountId: ACCOUNT, resource: providerArn(ACCOUNT, eksIssuer('eu-central-1', 'elsewhere')) },
      ],
    },
  ],
});

describe('with a cluster of unknown issuer', () => {
  // The cluster directory exists but its issuer is unknown (AUDIT-004): orphaned cannot be decided.
  it('is not evaluated (not failed) for a provider when a cluster of its region has no cluster.json data', () => {
    const model = fleet((h) => {
      h.cluster.cluster.info = null;
    })();
    const results = runCheck(check, model);
    expect(results.map((r) => r.status)).toEqual(['not-evaluated']);
  });
});
