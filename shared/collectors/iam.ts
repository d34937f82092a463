/**
 * IAM reads, once per account per run (IAM is global): every role with its trust policy
 * (ListRoles, 1000 a page), the OIDC providers, and — only for the roles some service account
 * references — the attached and inline policy names. No per-role GetRole.
 */
import {
  GetOpenIDConnectProviderCommand,
  type IAMClient,
  ListOpenIDConnectProvidersCommand,
  paginateListAttachedRolePolicies,
  paginateListRolePolicies,
  paginateListRoles,
} from '@aws-sdk/client-iam';
import pLimit from 'p-limit';
import { reading } from './failures.ts';

/** GetOpenIDConnectProvider calls in flight at once per account. */
const PROVIDER_CONCURRENCY = 8;

export interface IamSnapshot {
  Roles: Record<string, unknown>[];
  OpenIDConnectProviders: Record<string, unknown>[];
  RolePolicies: Record<
    string,
    { AttachedPolicies: { PolicyName: string; PolicyArn: string }[]; PolicyNames: string[] }
  >;
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
  return { Roles: roles, OpenIDConnectProviders: providers, RolePolicies: {} };
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
