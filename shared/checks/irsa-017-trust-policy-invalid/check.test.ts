import { describeCheck } from '../../testing/check-harness.ts';
import { healthyIrsa, healthyWith, irsaTrustPolicy } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const ACCOUNT = '111122223333';
const SA = 'system:serviceaccount:shop:api';

/** The healthy fleet plus role `broken` with the raw trust document `document`. */
function brokenRole(document: unknown) {
  return () => {
    const h = healthyIrsa();
    h.account.role('broken', document);
    return h.fleet.build();
  };
}

/** The healthy fleet, a second cluster `other`, and role `broken` trusting demo's provider with `condition`. */
function conditioned(condition: (issuers: { demo: string; other: string }) => Record<string, unknown>) {
  return () => {
    const h = healthyIrsa();
    const other = h.account.cluster('other', { region: 'eu-west-1' });
    h.account.provider(other.issuer);
    h.account.role('broken', {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Federated: h.cluster.providerArn() },
          Action: 'sts:AssumeRoleWithWebIdentity',
          Condition: condition({ demo: h.cluster.issuer, other: other.issuer }),
        },
      ],
    });
    return h.fleet.build();
  };
}

const unparseable = [{ accountId: ACCOUNT, region: null, cluster: null, roleName: 'broken' }];

describeCheck(check, {
  pass: [
    { name: 'healthy IRSA', fleet: () => healthyIrsa().fleet.build() },
    {
      name: 'the trust as a JSON string and URL-encoded',
      fleet: healthyWith((h) => {
        const doc = JSON.stringify(irsaTrustPolicy(h.cluster.providerArn(), h.cluster.issuer, SA));
        h.account.role('as-json', doc);
        h.account.role('as-url', encodeURIComponent(doc));
      }),
    },
    {
      name: 'condition keys naming the own issuer in another case',
      fleet: conditioned(({ demo }) => ({ StringEquals: { [`${demo.toLowerCase()}:sub`]: SA } })),
    },
    {
      name: 'global condition keys are not issuer keys',
      fleet: conditioned(({ demo }) => ({
        StringEquals: { [`${demo}:sub`]: SA, 'aws:RequestTag/team': 'shop' },
      })),
    },
  ],
  fail: [
    {
      name: 'a truncated JSON string',
      fleet: brokenRole('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Fed'),
      expect: unparseable,
      mentions: ['not valid JSON'],
    },
    { name: 'URL-encoded garbage', fleet: brokenRole('%E0%A4%A%7B%22Version'), expect: unparseable },
    {
      name: 'URL-encoded truncated JSON',
      fleet: brokenRole(encodeURIComponent('{"Version":"2012-10-17","Sta')),
      expect: unparseable,
    },
    {
      name: 'a Statement without Effect',
      fleet: brokenRole({
        Version: '2012-10-17',
        Statement: [{ Principal: { Federated: '*' }, Action: 'sts:AssumeRoleWithWebIdentity' }],
      }),
      expect: unparseable,
      mentions: ['Effect'],
    },
    {
      name: 'a document without Statement',
      fleet: brokenRole({ Version: '2012-10-17' }),
      expect: unparseable,
    },
    { name: 'an empty string', fleet: brokenRole('   '), expect: unparseable },
    {
      name: 'a :sub key naming another issuer reports the cluster of the trusted provider',
      fleet: conditioned(({ other }) => ({
        StringEquals: { [`${other}:sub`]: SA, [`${other}:aud`]: 'sts.amazonaws.com' },
      })),
      expect: [{ accountId: ACCOUNT, region: 'us-west-2', cluster: 'demo', roleName: 'broken' }],
      mentions: [':sub', 'eu-west-1'],
    },
    {
      name: 'only the :aud key names another issuer',
      fleet: conditioned(({ demo, other }) => ({
        StringEquals: { [`${demo}:sub`]: SA, [`${other}:aud`]: 'sts.amazonaws.com' },
      })),
      expect: [{ accountId: ACCOUNT, region: 'us-west-2', cluster: 'demo', roleName: 'broken' }],
      mentions: [':aud'],
    },
  ],
});
