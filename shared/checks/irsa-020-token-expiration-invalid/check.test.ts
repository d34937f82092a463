import { describeCheck } from '../../testing/check-harness.ts';
import { healthyIrsa } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const EXPIRATION = 'eks.amazonaws.com/token-expiration';
const BATCH = { cluster: 'demo', namespace: 'shop', serviceAccount: 'batch' };

/**
 * healthyIrsa() plus SA `shop/batch` annotated with the role and token-expiration `value`, and, when
 * `unannotated` is given, SA `shop/plain` setting it without any role-arn annotation.
 */
function expiration(value: string, unannotated?: string) {
  return () => {
    const h = healthyIrsa();
    h.cluster.serviceAccount('shop', 'batch', {
      'eks.amazonaws.com/role-arn': h.role.arn,
      [EXPIRATION]: value,
    });
    if (unannotated !== undefined) h.cluster.serviceAccount('shop', 'plain', { [EXPIRATION]: unannotated });
    return h.fleet.build();
  };
}

describeCheck(check, {
  pass: [
    ...['600', '86400', '3600', '43200'].map((value) => ({
      name: `${value} seconds`,
      fleet: expiration(value),
    })),
    { name: 'an invalid value on an SA without role-arn is not looked at', fleet: expiration('3600', '1h') },
  ],
  fail: [
    ...['599', '86401', '0', '-3600', '1h', '3600s', '3600.0', '6e2', ' 3600', '3600 ', '', 'abc'].map(
      (value) => ({
        name: `${JSON.stringify(value)} is not an integer from 600 to 86400`,
        fleet: expiration(value),
        expect: [BATCH],
        mentions: [JSON.stringify(value)],
      }),
    ),
    {
      name: 'an SA without a role-arn annotation is ignored',
      fleet: expiration('100', '1h'),
      expect: [BATCH],
    },
  ],
});
