import { describe, expect, it } from 'vitest';
import type { InputError } from '../../model/fleet.ts';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import { FleetBuilder, healthyIrsa } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';

/** The healthy fleet with `errors` recorded by the loader. */
function withErrors(...errors: InputError[]) {
  return () => {
    const h = healthyIrsa();
    h.fleet.inputErrors.push(...errors);
    return h.fleet.build();
  };
}

const iamError: InputError = {
  accountId: ACCOUNT,
  region: null,
  cluster: null,
  file: `${ACCOUNT}/iam.json`,
  field: 'Roles[3].RoleName',
  message: 'Invalid input: expected string, received undefined',
};
const kubernetesError: InputError = {
  accountId: ACCOUNT,
  region: 'us-west-2',
  cluster: 'demo',
  file: `${ACCOUNT}/us-west-2/demo/kubernetes.json`,
  field: null,
  message: 'the file is missing',
};

describeCheck(check, {
  pass: [{ name: 'no input errors', fleet: () => healthyIrsa().fleet.build() }],
  fail: [
    {
      name: 'an invalid field in iam.json names the file and the field',
      fleet: withErrors(iamError),
      expect: [{ accountId: ACCOUNT, region: null, cluster: null, resource: `${ACCOUNT}/iam.json` }],
      mentions: [`${ACCOUNT}/iam.json (field Roles[3].RoleName)`, 'expected string'],
    },
    {
      name: 'a missing cluster file: identity is the account and the file, cluster null',
      fleet: withErrors(kubernetesError),
      expect: [{ accountId: ACCOUNT, region: null, cluster: null, resource: kubernetesError.file }],
      mentions: [kubernetesError.file, 'the file is missing', '"cluster":"demo"'],
    },
    {
      name: 'one finding per broken file',
      fleet: withErrors(iamError, kubernetesError, {
        ...kubernetesError,
        accountId: OTHER_ACCOUNT,
        file: `${OTHER_ACCOUNT}/eu-west-1/x/cluster.json`,
        field: 'cluster.name',
      }),
      expect: [
        { accountId: ACCOUNT, resource: iamError.file },
        { accountId: ACCOUNT, resource: kubernetesError.file },
        { accountId: OTHER_ACCOUNT, resource: `${OTHER_ACCOUNT}/eu-west-1/x/cluster.json` },
      ],
    },
  ],
});

describe('AUDIT-004 per account', () => {
  it('passes the accounts without input errors and fails only the broken file', () => {
    const fleet = new FleetBuilder();
    fleet.account(ACCOUNT);
    fleet.account(OTHER_ACCOUNT).cluster('c');
    fleet.inputErrors.push(iamError);
    const results = runCheck(check, fleet.build());
    expect(results.map((r) => [r.status, r.accountId, r.resource])).toEqual([
      ['fail', ACCOUNT, iamError.file],
      ['pass', OTHER_ACCOUNT, null],
    ]);
  });
});
