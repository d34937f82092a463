/**
 * IAM reads, once per account per run (IAM is global): every role with its trust policy
 * (ListRoles, 1000 a page), the OIDC providers, and — only for the roles some service account
 * references — the attached and inline policy names, then their documents (each inline policy,
 * each customer-managed policy's default version, once per account). No per-role GetRole.
 */
import {
  GetOpenIDConnectProviderCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  type IAMClient,
  ListOpenIDConnectProvidersCommand,
  paginateListAttachedRolePolicies,
  paginateListRolePolicies,
  paginateListRoles,
} from '@aws-sdk/client-iam';
import pLimit from 'p-limit';
import { ReadError, reading } from './failures.ts';

/** GetOpenIDConnectProvider calls in flight at once per account. */
const PROVIDER_CONCURRENCY = 8;

/** An inline policy with its document, as the API returns it (URL-encoded JSON). */
export interface InlinePolicy {
  PolicyName: string;
  PolicyDocument: string;
}

/** A customer-managed policy with its default version (the `Policies` items of get-account-authorization-details). */
export interface ManagedPolicy {
  PolicyName: string;
  PolicyId?: string;
  Arn: string;
  Path?: string;
  DefaultVersionId: string;
  CreateDate?: Date;
  UpdateDate?: Date;
  PolicyVersionList: { Document: string; VersionId: string; IsDefaultVersion: true; CreateDate?: Date }[];
}

export interface IamSnapshot {
  Roles: Record<string, unknown>[];
  OpenIDConnectProviders: Record<string, unknown>[];
  RolePolicies: Record<
    string,
    {
      AttachedPolicies: { PolicyName: string; PolicyArn: string }[];
      PolicyNames: string[];
      /** Every inline policy's document; absent when one of them could not be read. */
      RolePolicyList?: InlinePolicy[];
    }
  >;
  /** The customer-managed policies the looked-up roles attach, each read once. */
  Policies: ManagedPolicy[];
}

/** Roles and OIDC providers of the account (`iam.json` without RolePolicies). */
export async function collectIam(iam: IAMClient): Promise<IamSnapshot> {
  const roles: Record<string, unknown>[] = [];
  const pages = paginateListRoles({ client: iam, pageSize: 1000 }, {});
  await reading('iam:ListRoles', async () => {
    for await (const page of pages) {
      for (const role of page.Roles ?? []) {
        roles.push({
          Path: role.Path,
          RoleName: role.RoleName,
          RoleId: role.RoleId,
          Arn: role.Arn,
          CreateDate: role.CreateDate,
          // As the API returns it: URL-encoded JSON.
          AssumeRolePolicyDocument: role.AssumeRolePolicyDocument,
        });
      }
    }
  });
  const list = await reading('iam:ListOpenIDConnectProviders', () =>
    iam.send(new ListOpenIDConnectProvidersCommand({})),
  );
  const limit = pLimit(PROVIDER_CONCURRENCY);
  const arns = (list.OpenIDConnectProviderList ?? []).flatMap((entry) => (entry.Arn ? [entry.Arn] : []));
  const providers = await Promise.all(
    arns.map((arn) =>
      limit(async () => {
        const provider = await reading('iam:GetOpenIDConnectProvider', () =>
          iam.send(new GetOpenIDConnectProviderCommand({ OpenIDConnectProviderArn: arn })),
        );
        return {
          Url: provider.Url,
          ClientIDList: provider.ClientIDList ?? [],
          ThumbprintList: provider.ThumbprintList ?? [],
          CreateDate: provider.CreateDate,
          Tags: provider.Tags ?? [],
          Arn: arn,
        };
      }),
    ),
  );
  return { Roles: roles, OpenIDConnectProviders: providers, RolePolicies: {}, Policies: [] };
}

/** The attached and inline policy names of one role. */
export async function collectRolePolicies(
  iam: IAMClient,
  roleName: string,
): Promise<IamSnapshot['RolePolicies'][string]> {
  const attached: { PolicyName: string; PolicyArn: string }[] = [];
  await reading('iam:ListAttachedRolePolicies', async () => {
    for await (const page of paginateListAttachedRolePolicies({ client: iam }, { RoleName: roleName })) {
      for (const p of page.AttachedPolicies ?? [])
        attached.push({ PolicyName: p.PolicyName ?? '', PolicyArn: p.PolicyArn ?? '' });
    }
  });
  const inline: string[] = [];
  await reading('iam:ListRolePolicies', async () => {
    for await (const page of paginateListRolePolicies({ client: iam }, { RoleName: roleName })) {
      inline.push(...(page.PolicyNames ?? []));
    }
  });
  return { AttachedPolicies: attached, PolicyNames: inline };
}

/** An AWS-managed policy (`arn:aws:iam::aws:policy/...`): the same everywhere, never read. */
export function isAwsManagedPolicy(arn: string): boolean {
  return /^arn:[^:]+:iam::aws:policy\//.test(arn);
}

/** One inline policy of a role, with its document (iam:GetRolePolicy). */
export async function collectInlinePolicy(
  iam: IAMClient,
  roleName: string,
  policyName: string,
): Promise<InlinePolicy> {
  const answer = await reading('iam:GetRolePolicy', () =>
    iam.send(new GetRolePolicyCommand({ RoleName: roleName, PolicyName: policyName })),
  );
  if (typeof answer.PolicyDocument !== 'string')
    throw new ReadError('iam:GetRolePolicy', malformed('GetRolePolicy gave no PolicyDocument'));
  return { PolicyName: answer.PolicyName ?? policyName, PolicyDocument: answer.PolicyDocument };
}

/**
 * A customer-managed policy and its default version's document: GetPolicy names the default
 * version, GetPolicyVersion reads it (the other versions are not in force, and not read).
 */
export async function collectManagedPolicy(iam: IAMClient, policyArn: string): Promise<ManagedPolicy> {
  const { Policy: policy } = await reading('iam:GetPolicy', () =>
    iam.send(new GetPolicyCommand({ PolicyArn: policyArn })),
  );
  const versionId = policy?.DefaultVersionId;
  if (!policy || !versionId)
    throw new ReadError('iam:GetPolicy', malformed('GetPolicy gave no DefaultVersionId'));
  const { PolicyVersion: version } = await reading('iam:GetPolicyVersion', () =>
    iam.send(new GetPolicyVersionCommand({ PolicyArn: policyArn, VersionId: versionId })),
  );
  if (typeof version?.Document !== 'string')
    throw new ReadError('iam:GetPolicyVersion', malformed('GetPolicyVersion gave no Document'));
  return {
    PolicyName: policy.PolicyName ?? policyArn.split('/').pop() ?? '',
    PolicyId: policy.PolicyId,
    Arn: policyArn,
    Path: policy.Path,
    DefaultVersionId: versionId,
    CreateDate: policy.CreateDate,
    UpdateDate: policy.UpdateDate,
    PolicyVersionList: [
      {
        Document: version.Document,
        VersionId: versionId,
        IsDefaultVersion: true,
        CreateDate: version.CreateDate,
      },
    ],
  };
}

/** A 2xx answer without the field the operation always returns: classified `malformed`. */
function malformed(message: string): Error {
  return Object.assign(new Error(message), { name: 'MalformedResponse', $metadata: { httpStatusCode: 200 } });
}
