import { describeCheck } from '../../testing/check-harness.ts';
import { FleetBuilder, healthyIrsa, healthyWith } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const DEMO = { accountId: '111122223333', cluster: 'demo' };

/** healthyIrsa() whose OIDC providers are replaced by ones with the given Urls (cluster's account). */
function withProviderUrls(urls: (issuer: string) => string[]) {
  return () => {
    const h = healthyIrsa();
    if (h.account.iam) h.account.iam.providers = [];
    for (const url of urls(h.cluster.issuer)) h.account.provider(url);
    return h.fleet.build();
  };
}

describeCheck(check, {
  pass: [
    { name: 'healthy IRSA setup', fleet: () => healthyIrsa().fleet.build() },
    {
      name: 'provider Url given with https:// and a trailing slash',
      fleet: withProviderUrls((issuer) => [`https://${issuer}/`]),
    },
    {
      name: 'the right provider among others',
      fleet: healthyWith((h) => {
        h.account.provider('oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF');
      }),
    },
  ],
  fail: [
    { name: 'account without any OIDC provider', fleet: withProviderUrls(() => []), expect: [DEMO] },
    {
      name: 'provider for another issuer (other OIDC id)',
      fleet: withProviderUrls(() => ['oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF']),
      expect: [DEMO],
      mentions: ['https://oidc.eks.us-west-2.amazonaws.com/id/'],
    },
    {
      name: 'provider for the same OIDC id in another region',
      fleet: withProviderUrls((issuer) => [issuer.replace('us-west-2', 'us-east-1')]),
      expect: [DEMO],
    },
    {
      name: "the provider exists only in another audited account, not in the cluster's",
      fleet: () => {
        const fleet = new FleetBuilder();
        const cluster = fleet.account('111122223333').cluster('demo');
        fleet.account('444455556666').provider(cluster.issuer);
        return fleet.build();
      },
      expect: [DEMO],
    },
    {
      name: 'only the cluster without a provider fails',
      fleet: healthyWith((h) => {
        h.account.cluster('other', { region: 'eu-west-1' });
      }),
      expect: [{ accountId: '111122223333', cluster: 'other' }],
    },
  ],
  notEvaluated: [
    {
      name: "the account's iam.json is unreadable",
      fleet: healthyWith((h) => {
        h.account.iam = null;
      }),
      expect: [DEMO],
    },
    {
      name: 'cluster.json is unreadable (no issuer)',
      fleet: healthyWith((h) => {
        h.cluster.cluster.info = null;
      }),
      expect: [DEMO],
    },
  ],
});
