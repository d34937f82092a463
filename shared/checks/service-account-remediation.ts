/** Remediation commands shared by the service-account checks. */
import type { Cluster, ServiceAccount } from '../model/fleet.ts';
import { sh } from '../sinks/shell.ts';

export function annotateCommand(
  cluster: Cluster,
  sa: ServiceAccount,
  annotation: string,
  value: string,
): string {
  return sh`kubectl --context ${cluster.name} annotate serviceaccount -n ${sa.namespace} ${sa.name} --overwrite ${annotation}=${value}`;
}

/** A trust statement that admits exactly this service account's token. */
export function trustStatementFor(
  providerArn: string,
  issuer: string,
  subject: string,
  audience: string,
): string {
  return JSON.stringify({
    Effect: 'Allow',
    Principal: { Federated: providerArn },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: { StringEquals: { [`${issuer}:sub`]: subject, [`${issuer}:aud`]: audience } },
  });
}
