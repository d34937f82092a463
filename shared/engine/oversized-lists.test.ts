/**
 * A snapshot may hold lists longer than a JavaScript call takes arguments (a few hundred thousand
 * on Node 20): a hostile or broken file is not bound by IAM's size limits. The audit still runs,
 * and judges what it can, where spreading such a list into one call threw a RangeError that
 * ended the audit of the whole fleet.
 */
import { describe, expect, it } from 'vitest';
import { FleetBuilder, irsaTrustPolicy } from '../testing/fleet-builder.ts';
import { runAudit } from './run-audit.ts';

const MANY = 300_000;

function fleetWithTrust(edit: (trust: { Statement: Record<string, unknown>[] }, issuer: string) => void) {
  const builder = new FleetBuilder();
  const account = builder.account();
  const cluster = account.cluster('demo');
  account.provider(cluster.issuer);
  cluster.webhook();
  const trust = irsaTrustPolicy(cluster.providerArn(), cluster.issuer, 'system:serviceaccount:shop:api') as {
    Statement: Record<string, unknown>[];
  };
  edit(trust, cluster.issuer);
  const role = account.role('demo-api', trust);
  cluster.serviceAccount('shop', 'api', { 'eks.amazonaws.com/role-arn': role.arn });
  cluster.deployment('shop', 'api', 1, { serviceAccountName: 'api', mutatedWith: role.arn });
  return { fleet: builder.build(), providerArn: cluster.providerArn() };
}

describe('lists longer than a call takes arguments', () => {
  it(`a trust whose Federated principal lists ${MANY.toLocaleString('en')} providers`, () => {
    let provider = '';
    const { fleet } = fleetWithTrust((trust) => {
      const statement = trust.Statement[0] as { Principal: { Federated: string } };
      provider = statement.Principal.Federated;
      const many = Array.from({ length: MANY }, (_, i) => `arn:aws:iam::111122223333:oidc-provider/x${i}`);
      statement.Principal = { Federated: [...many, provider] } as never;
    });
    expect(provider).not.toBe('');
    const report = runAudit(fleet, { now: new Date('2026-06-01T00:00:00Z') });
    // The grant to the cluster's provider is still found: the trust admits the ServiceAccount.
    const admits = report.findings.find((f) => f.checkId === 'IRSA-012');
    expect(admits?.status).toBe('pass');
  });

  it(`a policy variable whose default is ${MANY.toLocaleString('en')} characters`, () => {
    const { fleet } = fleetWithTrust((trust, issuer) => {
      const statement = trust.Statement[0] as { Condition: Record<string, Record<string, string>> };
      statement.Condition = {
        StringLike: { [`${issuer}:sub`]: `\${aws:nothing, '${'a'.repeat(MANY)}'}` },
        StringEquals: { [`${issuer}:aud`]: 'sts.amazonaws.com' },
      };
    });
    const report = runAudit(fleet, { now: new Date('2026-06-01T00:00:00Z') });
    // The default is not the ServiceAccount's subject: the trust does not admit it.
    const verdicts = report.findings.filter((f) => ['IRSA-012', 'IRSA-013', 'IRSA-014'].includes(f.checkId));
    expect(verdicts.some((f) => f.status === 'fail')).toBe(true);
  });
});
