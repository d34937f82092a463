import { describeCheck } from '../../testing/check-harness.ts';
import { healthyIrsa } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const STS = 'eks.amazonaws.com/sts-regional-endpoints';
const BATCH = { cluster: 'demo', namespace: 'shop', serviceAccount: 'batch' };

/**
 * healthyIrsa() plus SA `shop/batch` annotated with the role and `value`, and, when `unannotated`
 * is given, SA `shop/plain` setting it without any role-arn annotation.
 */
function regional(value: string, unannotated?: string) {
  return () => {
    const h = healthyIrsa();
    h.cluster.serviceAccount('shop', 'batch', { 'eks.amazonaws.com/role-arn': h.role.arn, [STS]: value });
    if (unannotated !== undefined) h.cluster.serviceAccount('shop', 'plain', { [STS]: unannotated });
    return h.fleet.build();
  };
}

const GO_BOOLEANS = ['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'];
const INVALID = [
  'yes',
  'no',
  'on',
  'off',
  'y',
  ' true',
  'true ',
  '',
  'tRUE',
  'TRue',
  'fAlse',
  '"true"',
  '2',
  'regional',
];

describeCheck(check, {
  pass: [
    ...GO_BOOLEANS.map((value) => ({
      name: `Go ParseBool accepts ${JSON.stringify(value)}`,
      fleet: regional(value),
    })),
    { name: 'an invalid value on an SA without role-arn is not looked at', fleet: regional('true', 'yes') },
  ],
  fail: [
    ...INVALID.map((value) => ({
      name: `Go ParseBool rejects ${JSON.stringify(value)}`,
      fleet: regional(value),
      expect: [BATCH],
      mentions: [JSON.stringify(value)],
    })),
    {
      name: 'an SA without a role-arn annotation is ignored',
      fleet: regional('on', 'yes'),
      expect: [BATCH],
    },
  ],
});
