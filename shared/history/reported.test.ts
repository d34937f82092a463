import { describe, expect, it } from 'vitest';
import type { AuditConfig } from '#shared/config/audit-config.ts';
import { changeSource } from '#shared/notify/security-hub.ts';
import { reportedFromStored } from './reported.ts';
import type { StoredFinding } from './types.ts';

const stored: StoredFinding = {
  findingId: 'f1',
  findingKey: 'IRSA-018|111122223333|eu-west-1|payments|billing|api',
  checkId: 'IRSA-018',
  title: 'Role has no permissions',
  severity: 'high',
  state: 'exempted',
  accountId: '111122223333',
  region: 'eu-west-1',
  cluster: 'payments',
  namespace: 'billing',
  serviceAccount: 'api',
  roleName: 'billing-api',
  workload: null,
  resource: null,
  message: 'no policy',
  remediation: 'aws iam attach-role-policy ...',
  firstSeenAt: '2026-11-01T02:00:00.000Z',
  openedAt: '2026-11-01T02:00:00.000Z',
  resolvedAt: null,
};
const config = (expires?: string): AuditConfig => ({
  severities: {},
  exemptions: [
    { checkId: 'IRSA-01*', scope: { namespace: 'billing' }, reason: 'role being rebuilt', expires },
  ],
});
const now = new Date('2026-12-06T00:00:00Z');

describe('a stored finding as reported', () => {
  it('names the check from the catalogue and keeps the stored fields', () => {
    const reported = reportedFromStored({ ...stored, state: 'open' });
    expect(reported).toMatchObject({ checkId: 'IRSA-018', name: 'role-no-permissions', status: 'fail' });
    expect(reported.exemption).toBeUndefined();
  });

  it('carries the configured exemption that still matches an exempted finding', () => {
    expect(reportedFromStored(stored, config('2026-12-31'), now).exemption).toEqual({
      reason: 'role being rebuilt',
      expires: '2026-12-31',
    });
  });

  it('carries none when the exemption has expired or no configuration is given', () => {
    expect(reportedFromStored(stored, config('2026-12-05'), now).exemption).toBeUndefined();
    expect(reportedFromStored(stored).exemption).toBeUndefined();
  });

  it('reads a resolved change as resolved for Security Hub, without the exemption', () => {
    const change = { type: 'resolved' as const, finding: stored, previousSeverity: null, regression: false };
    const source = changeSource(change, config(), now);
    expect(source.status).toBe('resolved');
    expect(source.exemption).toBeUndefined();
    expect(source.firstSeenAt).toBe(stored.firstSeenAt);
    expect(changeSource({ ...change, type: 'exempted' }, config(), now).exemption?.reason).toBe(
      'role being rebuilt',
    );
  });
});
