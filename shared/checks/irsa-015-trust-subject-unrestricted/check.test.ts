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
      mentions: [
        'Statement[0]',
        'update-assume-role-policy --role-name open',
        'as IAM evaluates its trust, any service account of demo whose token audience is "sts.amazonaws.com" can assume it.',
      ],
    },
    {
      name: 'no Condition at all',
      fleet: withRole(({ cluster }) => trust(cluster.providerArn())),
      expect: openOnDemo,
      mentions: ['any service account of demo, whatever its token audience'],
      absent: ['can assume it, except'],
    },
    {
      name: ':sub only under StringEqualsIfExists: a token always carries :sub, so only that SA can',
      fleet: subUnder('StringEqualsIfExists', SA),
      expect: openOnDemo,
      mentions: ['of the service accounts of demo, only system:serviceaccount:shop:api can assume it'],
      absent: ['any service account'],
    },
    {
      name: ':sub only under StringEqualsIfExists, naming no SA that exists: none can, and why',
      fleet: subUnder('StringEqualsIfExists', 'system:serviceaccount:shop:gone'),
      expect: openOnDemo,
      mentions: [
        'no service account of demo can assume it, since no statement for the provider admits subject system:serviceaccount:default:default (trusted :sub values: "system:serviceaccount:shop:gone")',
      ],
    },
    {
      name: 'an :aud of "" (no token carries it): none can',
      fleet: withRole(({ cluster }) =>
        trust(cluster.providerArn(), { StringEquals: { [`${cluster.issuer}:aud`]: '' } }),
      ),
      expect: openOnDemo,
      mentions: [
        'no service account of demo can assume it, since',
        'require :aud "", not "sts.amazonaws.com"',
      ],
    },
    {
      name: 'an :aud a service account can ask for: anyone whose token carries it',
      fleet: withRole(({ cluster }) =>
        trust(cluster.providerArn(), { StringEquals: { [`${cluster.issuer}:aud`]: ['vault', ''] } }),
      ),
      expect: openOnDemo,
      mentions: ['any service account of demo whose token audience is "vault" can assume it'],
    },
    {
      name: 'an unconditional Deny beside the open Allow: structurally open, but none can',
      fleet: withRole(({ cluster }) => ({
        Version: '2012-10-17',
        Statement: [
          ...trust(cluster.providerArn()).Statement,
          {
            Effect: 'Deny',
            Principal: { Federated: cluster.providerArn() },
            Action: 'sts:AssumeRoleWithWebIdentity',
          },
        ],
      })),
      expect: openOnDemo,
      mentions: [
        'no service account of demo can assume it, since Statement[1] denies sts:AssumeRoleWithWebIdentity',
      ],
    },
    {
      name: 'a Deny on kube-system: service accounts can, but not every one',
      fleet: withRole(({ cluster }) => ({
        Version: '2012-10-17',
        Statement: [
          ...trust(cluster.providerArn(), {
            StringEquals: { [`${cluster.issuer}:aud`]: 'sts.amazonaws.com' },
          }).Statement,
          {
            Effect: 'Deny',
            Principal: { Federated: cluster.providerArn() },
            Action: 'sts:AssumeRoleWithWebIdentity',
            Condition: { StringLike: { [`${cluster.issuer}:sub`]: 'system:serviceaccount:kube-system:*' } },
          },
        ],
      })),
      expect: openOnDemo,
      mentions: [
        'service accounts of demo whose token audience is "sts.amazonaws.com" can assume it, though not every one: system:serviceaccount:kube-system:aws-node cannot, since Statement[1] denies subject system:serviceaccount:kube-system:aws-node',
      ],
      absent: ['any service account'],
    },
    {
      name: 'service accounts not collected: the message says whom it could not try',
      fleet: healthyWith((h) => {
        h.cluster.kubernetes.serviceAccounts = null;
        h.account.role('open', trust(h.cluster.providerArn()));
      }),
      expect: openOnDemo,
      mentions: [
        'any service account of demo, whatever its token audience',
        'its service accounts could not be listed',
      ],
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
      mentions: ['only system:serviceaccount:shop:api can assume it'],
    },
    {
      name: ':sub under StringNotEquals: everyone but the one it names, existing or not',
      fleet: subUnder('StringNotEquals', 'system:serviceaccount:x:y'),
      expect: openOnDemo,
      mentions: [
        'any service account of demo whose token audience is "sts.amazonaws.com" can assume it, except system:serviceaccount:x:y',
      ],
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
