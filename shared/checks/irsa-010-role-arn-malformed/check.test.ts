import { describe, expect, it } from 'vitest';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import { healthyIrsa } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const ROLE = 'arn:aws:iam::111122223333:role/demo-api';
const BAD = { cluster: 'demo', namespace: 'shop', serviceAccount: 'bad' };

/** healthyIrsa() plus SA `shop/bad` whose role-arn annotation is `value`. */
function annotated(value: string) {
  return () => {
    const h = healthyIrsa();
    h.cluster.serviceAccount('shop', 'bad', { 'eks.amazonaws.com/role-arn': value });
    return h.fleet.build();
  };
}

const malformed = (name: string, value: string, mentions?: string[]) => ({
  name,
  fleet: annotated(value),
  expect: [BAD],
  ...(mentions ? { mentions } : {}),
});

describeCheck(check, {
  pass: [
    { name: 'healthy IRSA setup', fleet: () => healthyIrsa().fleet.build() },
    { name: 'aws-cn partition', fleet: annotated('arn:aws-cn:iam::111122223333:role/demo-api') },
    { name: 'aws-us-gov partition', fleet: annotated('arn:aws-us-gov:iam::111122223333:role/demo-api') },
    { name: 'role with a path', fleet: annotated('arn:aws:iam::111122223333:role/team/app/demo-api') },
    {
      name: 'role name with every allowed sign',
      fleet: annotated('arn:aws:iam::111122223333:role/a_b+c=d,e.f@g-h'),
    },
  ],
  fail: [
    malformed('double quotes around the ARN', `"${ROLE}"`, [`role-arn=${ROLE}`]),
    malformed('single quotes around the ARN', `'${ROLE}'`, [`role-arn=${ROLE}`]),
    malformed('trailing space', `${ROLE} `, [`role-arn=${ROLE}`]),
    malformed('leading space', ` ${ROLE}`),
    malformed('trailing newline', `${ROLE}\n`),
    malformed('a user ARN', 'arn:aws:iam::111122223333:user/demo-api', [`role-arn=${ROLE}`]),
    malformed('a policy ARN', 'arn:aws:iam::111122223333:policy/demo-api', [`role-arn=${ROLE}`]),
    malformed('a bare role name', 'demo-api', [`role-arn=${ROLE}`]),
    malformed('an 11-digit account', 'arn:aws:iam::11112222333:role/demo-api'),
    malformed('a region in an IAM ARN', 'arn:aws:iam:us-west-2:111122223333:role/demo-api'),
    malformed('an empty role name', 'arn:aws:iam::111122223333:role/'),
    malformed('a space inside the name', 'arn:aws:iam::111122223333:role/demo api'),
    malformed('an empty annotation', ''),
    malformed('another service', 'arn:aws:sts::111122223333:assumed-role/demo-api/session'),
  ],
});

describe('IRSA-010 remediation', () => {
  for (const value of [`"${ROLE}"`, `${ROLE} `, ` '${ROLE}' `]) {
    it(`suggests exactly the cleaned ARN for ${JSON.stringify(value)}`, () => {
      const failures = runCheck(check, annotated(value)()).filter((r) => r.status === 'fail');
      expect(failures).toHaveLength(1);
      expect(failures[0]?.remediation).toMatch(
        / eks\.amazonaws\.com\/role-arn=arn:aws:iam::111122223333:role\/demo-api$/,
      );
      expect(failures[0]?.evidence.value).toBe(value);
    });
  }
});
