/** Which accounts and regions to audit, and the credentials of each account's audit role. */
import { ListRegionsCommand } from '@aws-sdk/client-account';
import { paginateListAccounts } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { AwsClients, type ClientOptions } from './aws-clients.ts';

export type AccountSelection =
  | { readonly kind: 'current' }
  | { readonly kind: 'list'; readonly accountIds: readonly string[] }
  | { readonly kind: 'organization' };

/** The ids of the accounts to audit. Organization: every ACTIVE account (needs organizations:ListAccounts). */
export async function resolveAccounts(selection: AccountSelection, caller: AwsClients): Promise<string[]> {
  if (selection.kind === 'list') return [...new Set(selection.accountIds)].sort();
  if (selection.kind === 'current') {
    const identity = await caller.sts.send(new GetCallerIdentityCommand({}));
    if (!identity.Account) throw new Error('sts:GetCallerIdentity returned no account');
    return [identity.Account];
  }
  const ids: string[] = [];
  for await (const page of paginateListAccounts({ client: caller.organizations }, {})) {
    for (const account of page.Accounts ?? []) {
      // Status is deprecated in favour of State; accept either spelling of "active".
      const state = (account as { State?: string }).State ?? account.Status;
      if (account.Id && state === 'ACTIVE') ids.push(account.Id);
    }
  }
  return ids.sort();
}

export interface AuditRole {
  readonly roleName: string;
  readonly externalId?: string;
  readonly partition?: string;
}

/** Assumes the read-only audit role in `accountId` with the caller's credentials. */
export async function assumeAuditRole(
  caller: AwsClients,
  accountId: string,
  role: AuditRole,
  options: ClientOptions = {},
): Promise<AwsClients> {
  const response = await caller.sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:${role.partition ?? 'aws'}:iam::${accountId}:role/${role.roleName}`,
      RoleSessionName: 'irsa-auditor',
      DurationSeconds: 3600,
      ...(role.externalId ? { ExternalId: role.externalId } : {}),
    }),
  );
  const c = response.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey)
    throw new Error(`sts:AssumeRole into ${accountId} returned no credentials`);
  const credentials: AwsCredentialIdentity = {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
    ...(c.Expiration ? { expiration: c.Expiration } : {}),
  };
  return new AwsClients(credentials, options);
}

/** The regions enabled in the account (account:ListRegions). */
export async function enabledRegions(clients: AwsClients): Promise<string[]> {
  const regions: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await clients.account().send(
      new ListRegionsCommand({
        RegionOptStatusContains: ['ENABLED', 'ENABLED_BY_DEFAULT'],
        NextToken: nextToken,
      }),
    );
    for (const region of page.Regions ?? []) if (region.RegionName) regions.push(region.RegionName);
    nextToken = page.NextToken;
  } while (nextToken);
  return regions.sort();
}
