import { describe, expect, it } from 'vitest';
import type { Cluster } from '../model/fleet.ts';
import { accountSubject, roleSubject } from './results.ts';

const SUBJECT_KEYS = [
  'accountId',
  'region',
  'cluster',
  'namespace',
  'serviceAccount',
  'roleName',
  'workload',
];

const cluster = (accountId: string) =>
  ({ accountId, region: 'eu-west-1', name: 'prod' }) as Pick<
    Cluster,
    'accountId' | 'region' | 'name'
  > as Cluster;

describe('roleSubject', () => {
  it('names the role and the cluster of its own account, with no resource', () => {
    const subject = roleSubject('111122223333', 'app', cluster('111122223333'));
    expect(subject).toEqual({
      accountId: '111122223333',
      region: 'eu-west-1',
      cluster: 'prod',
      namespace: null,
      serviceAccount: null,
      roleName: 'app',
      workload: null,
    });
    // A finding's JSON keeps the subject's key order.
    expect(Object.keys(subject)).toEqual(SUBJECT_KEYS);
  });

  it("names a cluster of another account by its qualified name, as the subject's resource (last)", () => {
    const subject = roleSubject('111122223333', 'app', cluster('444455556666'));
    expect(subject.resource).toBe('444455556666/eu-west-1/prod');
    expect(Object.keys(subject)).toEqual([...SUBJECT_KEYS, 'resource']);
  });

  it('leaves region and cluster empty when the trust names no known cluster', () => {
    expect(roleSubject('111122223333', 'app', null)).toMatchObject({
      region: null,
      cluster: null,
      roleName: 'app',
    });
    expect(Object.keys(roleSubject('111122223333', 'app', null))).toEqual(SUBJECT_KEYS);
  });
});

describe('accountSubject', () => {
  it('has a resource only when one is given, after the other keys', () => {
    expect(Object.keys(accountSubject('111122223333'))).toEqual(SUBJECT_KEYS);
    const subject = accountSubject('111122223333', 'provider/x', 'us-east-1');
    expect(subject).toMatchObject({ accountId: '111122223333', region: 'us-east-1', resource: 'provider/x' });
    expect(Object.keys(subject)).toEqual([...SUBJECT_KEYS, 'resource']);
    expect(accountSubject(null)).toMatchObject({ accountId: null, region: null, cluster: null });
  });
});
