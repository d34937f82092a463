import { describeCheck } from '../../testing/check-harness.ts';
import { healthyIrsa, healthyWith } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const DEMO = { accountId: '111122223333', cluster: 'demo' };
const AUDIENCE = 'eks.amazonaws.com/audience';

/**
 * healthyIrsa() whose provider lists `clientIds`, plus an SA `shop/batch` annotated with the
 * healthy role and the given extra annotations (none: no second SA).
 */
function variant(clientIds: string[], batchAnnotations?: Record<string, string>) {
  return () => {
    const h = healthyIrsa();
    if (h.account.iam) h.account.iam.providers = [];
    h.account.provider(h.cluster.issuer, clientIds);
    if (batchAnnotations) {
      h.cluster.serviceAccount('shop', 'batch', {
        'eks.amazonaws.com/role-arn': h.role.arn,
        ...batchAnnotations,
      });
    }
    return h.fleet.build();
  };
}

function noProvider() {
  const h = healthyIrsa();
  if (h.account.iam) h.account.iam.providers = [];
  return h.fleet.build();
}

describeCheck(check, {
  pass: [
    { name: 'healthy IRSA setup', fleet: () => healthyIrsa().fleet.build() },
    { name: 'sts.amazonaws.com among other client ids', fleet: variant(['other', 'sts.amazonaws.com']) },
    {
      name: 'custom audience requested and listed',
      fleet: variant(['sts.amazonaws.com', 'my-audience'], { [AUDIENCE]: 'my-audience' }),
    },
    {
      name: 'an empty audience annotation means sts.amazonaws.com',
      fleet: variant(['sts.amazonaws.com'], { [AUDIENCE]: '' }),
    },
  ],
  fail: [
    { name: 'ClientIDList empty', fleet: variant([]), expect: [DEMO], mentions: ['sts.amazonaws.com'] },
    {
      name: 'ClientIDList without sts.amazonaws.com',
      fleet: variant(['sts.amazonaws.com.cn', 'STS.amazonaws.com']),
      expect: [DEMO],
      mentions: ['--client-id sts.amazonaws.com'],
    },
    {
      name: 'an SA requests a custom audience the provider does not list',
      fleet: variant(['sts.amazonaws.com'], { [AUDIENCE]: 'my-audience' }),
      expect: [DEMO],
      mentions: ['--client-id my-audience'],
    },
    {
      name: 'custom audience listed but sts.amazonaws.com missing',
      fleet: variant(['my-audience'], { [AUDIENCE]: 'my-audience' }),
      expect: [DEMO],
      mentions: ['--client-id sts.amazonaws.com'],
    },
  ],
  notEvaluated: [
    { name: 'no OIDC provider at all (IRSA-001)', fleet: noProvider, expect: [DEMO] },
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
