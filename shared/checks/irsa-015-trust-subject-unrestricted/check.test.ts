import { describeCheck } from '../../testing/check-harness.ts';
import { type HealthyIrsa, healthyIrsa, healthyWith } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';
const SA = 'system:serviceaccount:shop:api';

/** A web-identity trust for `providers` with the given Condition block (none when undefined). */
function trust(providers: string | string[], condition?: Record<string, Record<string, unknown>>) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: providers },
        Action: 'sts:AssumeRoleWithWebIdentity',
        ...(condition ? { Condition: condition } : {}),
      },
    ],
  };
}

/** The healthy fleet plus role `open`, whose trust `build` makes for cluster demo. */
function withRole(build: (h: HealthyIrsa) => unknown) {
  return () => {
    const h = healthyIrsa();
    h.account.role('open', build(h));
    return h.fleet.build();
  };
}

/** Role `open` with one operator on demo's `:sub` (plus the usual `:aud`). */
function subUnder(operator: string, value: unknown) {
  return withRole(({ cluster }) =>
    trust(cluster.providerArn(), {
      [operator]: { [`${cluster.issuer}:sub`]: value },
      ...(operator === 'StringEquals'
        ? {}
        : { StringEquals: { [`${cluster.issuer}:aud`]: 'sts.amazonaws.com' } }),
    }),
  );
}

const openOnDemo = [{ accountId: ACCOUNT, region: 'us-west-2', cluster: 'demo', roleName: 'open' }];

describeCheck(check, {
  pass: [
    { name: 'healthy IRSA (StringEquals on :sub)', fleet: () => healthyIrsa().fleet.build() },
    { name: 'ForAnyValue:StringEquals is strict', fleet: subUnder('ForAnyValue:StringEquals', SA) },
    { name: 'ForAnyValue:StringLike is strict', fleet: subUnder('ForAnyValue:StringLike', SA) },
    { name: 'StringLike without wildcard is strict', fleet: subUnder('StringLike', SA) },
    {
      name: 'a namespace wildcard is IRSA-016, not 015',
      fleet: subUnder('StringLike', 'system:serviceaccount:shop:*'),
    },
    { name: 'StringEqualsIgnoreCase is strict', fleet: subUnder('StringEqualsIgnoreCase', SA) },
    {
      name: 'condition keys are case-insensitive',
      fleet: withRole(({ cluster }) =>
        trust(cluster.providerArn(), { StringEquals: { [`${cluster.issuer.toUpperCase()}:SUB`]: SA } }),
      ),
    },
    {
      name: 'a statement keyed on another issuer is IRSA-017, not unrestricted',
      fleet: healthyWith((h) => {
        const other = h.account.cluster('other');
        h.account.provider(other.issuer);
        h.account.role(
          'open',
          trust(h.cluster.providerArn(), { StringEquals: { [`${other.issuer}:sub`]: SA } }),
        );
      }),
    },
    {
      name: 'a role that trusts no cluster provider is not judged (healthy role passes)',
      fleet: withRole(() =>
        trust('arn:aws:iam::111122223333:oidc-provider/token.actions.githubusercontent.com'),
      ),
    },
  ],
  fail: [
    {
      name: 'no :sub condition (only :aud)',
      fleet: withRole(({ cluster }) =>
        trust(cluster.providerArn(), { StringEquals: { [`${cluster.issuer}:aud`]: 'sts.amazonaws.com' } }),
      ),
      expect: openOnDemo,
      mentions: ['Statement[0]', 'update-assume-role-policy --role-name open'],
    },
    {
      name: 'no Condition at all',
      fleet: withRole(({ cluster }) => trust(cluster.providerArn())),
      expect: openOnDemo,
    },
    {
      name: ':sub only under StringEqualsIfExists',
      fleet: subUnder('StringEqualsIfExists', SA),
      expect: openOnDemo,
    },
    {
      name: ':sub only under StringLikeIfExists',
      fleet: subUnder('StringLikeIfExists', SA),
      expect: openOnDemo,
    },
    {
      name: ':sub under ForAllValues:StringEquals',
      fleet: subUnder('ForAllValues:StringEquals', SA),
      expect: openOnDemo,
    },
    {
      name: ':sub under StringNotEquals',
      fleet: subUnder('StringNotEquals', 'system:serviceaccount:x:y'),
      expect: openOnDemo,
    },
    {
      name: ':sub under StringNotLike',
      fleet: subUnder('StringNotLike', 'system:serviceaccount:x:*'),
      expect: openOnDemo,
    },
    { name: ':sub under Null', fleet: subUnder('Null', 'false'), expect: openOnDemo },
    { name: 'StringLike "*"', fleet: subUnder('StringLike', '*'), expect: openOnDemo },
    {
      name: 'StringLike "system:serviceaccount:*"',
      fleet: subUnder('StringLike', 'system:serviceaccount:*'),
      expect: openOnDemo,
    },
    {
      name: 'StringLike "system:serviceaccount:*:*"',
      fleet: subUnder('StringLike', 'system:serviceaccount:*:*'),
      expect: openOnDemo,
    },
    {
      name: 'a list with one exact value and "*"',
      fleet: subUnder('StringLike', [SA, '*']),
      expect: openOnDemo,
    },
    {
      name: 'one strict and one open statement for the same provider',
      fleet: withRole(({ cluster }) => ({
        Version: '2012-10-17',
        Statement: [
          ...trust(cluster.providerArn(), { StringEquals: { [`${cluster.issuer}:sub`]: SA } }).Statement,
          ...trust(cluster.providerArn()).Statement,
        ],
      })),
      expect: openOnDemo,
      mentions: ['Statement[1]'],
    },
    {
      name: 'the role account is the identity (cross-account role)',
      fleet: healthyWith((h) => {
        const other = h.fleet.account(OTHER_ACCOUNT);
        other.provider(h.cluster.issuer);
        other.role('open', trust(h.cluster.providerArn(OTHER_ACCOUNT)));
      }),
      expect: [{ accountId: OTHER_ACCOUNT, region: 'us-west-2', cluster: 'demo', roleName: 'open' }],
    },
    {
      name: 'a role trusting two clusters gives one result per cluster',
      fleet: healthyWith((h) => {
        const other = h.account.cluster('other', { region: 'eu-west-1' });
        h.account.provider(other.issuer);
        h.account.role('open', trust([h.cluster.providerArn(), other.providerArn()]));
      }),
      expect: [
        { accountId: ACCOUNT, region: 'us-west-2', cluster: 'demo', roleName: 'open' },
        { accountId: ACCOUNT, region: 'eu-west-1', cluster: 'other', roleName: 'open' },
      ],
    },
    {
      name: 'a role strict for one cluster and open for another fails only for the open one',
      fleet: healthyWith((h) => {
        const other = h.account.cluster('other');
        h.account.provider(other.issuer);
        h.account.role('open', {
          Version: '2012-10-17',
          Statement: [
            ...trust(h.cluster.providerArn(), { StringEquals: { [`${h.cluster.issuer}:sub`]: SA } })
              .Statement,
            ...trust(other.providerArn(), { StringEqualsIfExists: { [`${other.issuer}:sub`]: SA } })
              .Statement,
          ],
        });
      }),
      expect: [{ cluster: 'other', roleName: 'open' }],
    },
  ],
});
