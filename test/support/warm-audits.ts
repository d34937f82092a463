/**
 * Run by test/warm-audits.test.ts in a process of its own (with V8's tracing flags): audits one
 * synthetic cluster several times, its garbage collected in full between audits, as in a warm
 * Lambda or the engine benchmark, and keeps nothing of an audit once the next one starts.
 */
import { runAudit } from '#shared/engine/run-audit.ts';
import { FleetBuilder, irsaTrustPolicy } from '#shared/testing/fleet-builder.ts';

const SERVICE_ACCOUNTS = 300;
const AUDITS = Number(process.argv[2] ?? 6);

const builder = new FleetBuilder();
const account = builder.account();
const cluster = account.cluster('warm');
account.provider(cluster.issuer);
cluster.webhook();
for (let i = 0; i < SERVICE_ACCOUNTS; i++) {
  const namespace = `ns-${i % 10}`;
  const name = `sa-${i}`;
  const role = account.role(
    `role-${i}`,
    irsaTrustPolicy(cluster.providerArn(), cluster.issuer, `system:serviceaccount:${namespace}:${name}`),
  );
  cluster.serviceAccount(namespace, name, { 'eks.amazonaws.com/role-arn': role.arn });
  cluster.deployment(namespace, name, 3, { serviceAccountName: name, mutatedWith: role.arn });
}
const fleet = builder.build();
const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('run with --expose-gc');

/** One audit, in a frame of its own: once it returns, nothing of its report is left to reach. */
function audit(): number {
  return runAudit(fleet, { now: new Date('2026-06-01T00:00:00Z') }).findings.length;
}

let findings = 0;
for (let run = 0; run < AUDITS; run++) {
  collect();
  findings = audit();
}
process.stdout.write(`audited ${AUDITS} times, ${findings} findings each\n`);
