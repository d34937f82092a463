/**
 * Cross-account IRSA in the pipeline (docs/finding-store.md, "Account views"). One work message
 * audits one account; a ServiceAccount may name a role in another audited account, and a role of
 * another account may trust this account's clusters. So each unit, once its own collection is done:
 *
 * 1. writes its account's view (IAM as collected, its clusters' issuers, the issuers its roles
 *    trust) for the run, before it reads any other, so two units that need each other never wait
 *    on each other;
 * 2. waits for the views of the run's other planned accounts, polling, at most `waitMs` and never
 *    past the collection's end (`stopAt`);
 * 3. adds to its snapshot the IAM of each account whose roles its ServiceAccounts name or whose
 *    roles trust its clusters, and every account's clusters (for the hygiene checks).
 *
 * The ordering rule: a view that is not there by then (the other unit failed, is late, or is still
 * queued) is recorded as a failed read of that account (`pipeline:AccountView`), so every result
 * that depends on it is not evaluated, never failed or resolved. An account that is not in the
 * run's plan is not audited: its roles stay "not evaluated" as in `check`.
 */
import type {
  AccountView,
  AccountViewHeader,
  AccountViewStore,
  ViewCluster,
} from '../history/account-views.ts';
import { issuerHostPath, providerGrants } from '../policy/irsa-trust.ts';
import { parsePolicyDocument } from '../policy/policy-document.ts';
import type { WorkMessage } from './work-message.ts';

/** How long a unit waits for the other accounts' views by default (see the ordering rule). */
export const DEFAULT_VIEW_WAIT_MS = 300_000;
const POLL_MS = 2_000;

/** The operation recorded for another account's view that a unit could not read. */
export const ACCOUNT_VIEW_API = 'pipeline:AccountView';

export interface CrossAccountDeps {
  readonly views: AccountViewStore;
  /** Longest wait for the other accounts' views (default DEFAULT_VIEW_WAIT_MS). */
  readonly waitMs?: number;
  /** When the unit must stop collecting (epoch ms): the wait never goes past it. */
  readonly stopAt?: number;
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => Date;
}

export interface ShareHooks {
  /** Runs once the unit's view is shared, before it waits for the others' (the lead forwards its parts then). */
  readonly afterShare?: () => Promise<void>;
}

export interface CrossAccountResult {
  /** The unit's snapshot files, with what it read of the other accounts. */
  readonly files: Map<string, string>;
  /** Planned accounts whose view was not there in time. */
  readonly missing: readonly string[];
  /** Accounts whose IAM was added. */
  readonly read: readonly string[];
  readonly waitedMs: number;
}

const ROLE_ARN_IN_TEXT = /arn:aws[a-z0-9-]*:iam::(\d{12}):role\//g;

/** The view of one account from its collected snapshot files. */
export function viewOf(accountId: string, files: ReadonlyMap<string, string>): AccountView {
  const iamJson = files.get(`${accountId}/iam.json`) ?? null;
  const clusters = new Map<string, ViewCluster>();
  for (const [path, text] of files) {
    const parts = path.split('/');
    if (parts.length !== 4 || parts[0] !== accountId) continue;
    const [, region = '', name = '', file] = parts;
    const key = `${region}/${name}`;
    if (file === 'cluster.json') {
      clusters.set(key, { region, name, issuer: issuerOfClusterFile(text) });
    } else if (!clusters.has(key)) {
      clusters.set(key, { region, name, issuer: null });
    }
  }
  return {
    accountId,
    status: iamJson === null ? 'failed' : 'complete',
    iamJson,
    clusters: [...clusters.values()].sort((a, b) =>
      `${a.region}/${a.name}`.localeCompare(`${b.region}/${b.name}`),
    ),
    trustedIssuers: iamJson === null ? [] : trustedIssuers(iamJson),
  };
}

function issuerOfClusterFile(text: string): string | null {
  try {
    const issuer = (JSON.parse(text) as { cluster?: { identity?: { oidc?: { issuer?: unknown } } } }).cluster
      ?.identity?.oidc?.issuer;
    return typeof issuer === 'string' && issuer !== '' ? issuer : null;
  } catch {
    return null;
  }
}

/** The OIDC issuers (host/path, lower case) some role of iam.json trusts with web identity. */
function trustedIssuers(iamJson: string): string[] {
  const issuers = new Set<string>();
  try {
    const roles = (JSON.parse(iamJson) as { Roles?: { AssumeRolePolicyDocument?: unknown }[] }).Roles ?? [];
    for (const role of roles) {
      const trust = parsePolicyDocument(role.AssumeRolePolicyDocument);
      if (!trust.ok) continue;
      for (const grant of providerGrants(trust.policy)) issuers.add(grant.issuer.toLowerCase());
    }
  } catch {
    // An unreadable iam.json is the loader's to report (AUDIT-004); it trusts nothing here.
  }
  return [...issuers].sort();
}

/** The accounts whose roles the unit's ServiceAccounts (or pods) name. */
function referencedAccounts(accountId: string, files: ReadonlyMap<string, string>): Set<string> {
  const accounts = new Set<string>();
  for (const [path, text] of files) {
    if (!path.startsWith(`${accountId}/`) || !path.endsWith('/kubernetes.json')) continue;
    for (const match of text.matchAll(ROLE_ARN_IN_TEXT)) if (match[1]) accounts.add(match[1]);
  }
  accounts.delete(accountId);
  return accounts;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * Shares the unit's view and adds the other accounts' to its files (the module comment gives the
 * ordering rule). Without a plan (a run planned by an older planner) it waits for nobody.
 */
export async function withAccountViews(
  message: WorkMessage,
  own: ReadonlyMap<string, string>,
  deps: CrossAccountDeps,
  hooks: ShareHooks = {},
): Promise<CrossAccountResult> {
  const now = deps.now ?? (() => new Date());
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const { views } = deps;
  const view = viewOf(message.accountId, own);
  // A part shares nothing: its account's view is its lead's, which it reads like another account's.
  const isPart = message.part !== undefined;
  if (!isPart) await views.putView(message.runId, view, now().toISOString());
  await hooks.afterShare?.();

  const plan = (await views.getPlan(message.runId)) ?? [];
  const others = [...(isPart ? [message.accountId] : []), ...plan.filter((id) => id !== message.accountId)];
  const started = now().getTime();
  const waitUntil = Math.min(
    started + (deps.waitMs ?? DEFAULT_VIEW_WAIT_MS),
    deps.stopAt ?? Number.POSITIVE_INFINITY,
  );
  let headers = new Map<string, AccountViewHeader>();
  for (;;) {
    headers = new Map((await views.headers(message.runId)).map((h) => [h.accountId, h]));
    if (others.every((id) => headers.has(id)) || now().getTime() >= waitUntil) break;
    await sleep(Math.min(deps.pollMs ?? POLL_MS, Math.max(0, waitUntil - now().getTime())));
  }

  const files = new Map(own);
  const ownIssuers = new Set(
    view.clusters.flatMap((c) => (c.issuer ? [issuerHostPath(c.issuer).toLowerCase()] : [])),
  );
  const referenced = referencedAccounts(message.accountId, own);
  const read: string[] = [];
  const missing: string[] = [];
  for (const accountId of others) {
    const header = headers.get(accountId);
    const ownAccount = accountId === message.accountId;
    if (!header) {
      missing.push(accountId);
      files.set(
        `${accountId}/collection-errors.json`,
        json({
          errors: [
            {
              api: ACCOUNT_VIEW_API,
              code: 'NotAvailable',
              class: 'error',
              message: ownAccount
                ? `the lead unit of account ${accountId} had not shared its IAM when this part had to go on: what depends on it is not evaluated`
                : `the audit of account ${accountId} had not shared its IAM and clusters when this unit had to go on (it failed, or runs late): what depends on them is not evaluated`,
            },
          ],
        }),
      );
      continue;
    }
    const needsIam =
      ownAccount ||
      referenced.has(accountId) ||
      header.trustedIssuers.some((issuer) => ownIssuers.has(issuer.toLowerCase()));
    if (needsIam) {
      const iam = header.status === 'complete' ? await views.iamOf(message.runId, header) : null;
      if (iam !== null) {
        files.set(`${accountId}/iam.json`, iam);
        read.push(accountId);
      } else {
        files.set(
          `${accountId}/collection-errors.json`,
          json({
            errors: [
              {
                api: ACCOUNT_VIEW_API,
                code: 'NotAudited',
                class: 'error',
                message: `the audit of account ${accountId} could not read its IAM this run (its own AUDIT-001 says why)`,
              },
            ],
          }),
        );
      }
    }
    // Its clusters, for the hygiene checks and to attribute its roles' trust; their Kubernetes side
    // is that account's unit's to read and record.
    for (const cluster of header.clusters) {
      const base = `${accountId}/${cluster.region}/${cluster.name}`;
      // A part's own clusters are in its files; the account's others are its lead's or other parts'.
      if (ownAccount && (files.has(`${base}/cluster.json`) || files.has(`${base}/collection-errors.json`)))
        continue;
      files.set(
        `${base}/cluster.json`,
        json({
          cluster: {
            name: cluster.name,
            ...(cluster.issuer ? { identity: { oidc: { issuer: cluster.issuer } } } : {}),
          },
        }),
      );
      files.set(
        `${base}/collection-errors.json`,
        json({
          errors: [
            {
              api: 'k8s',
              code: 'OtherUnit',
              class: 'error',
              message: ownAccount
                ? `cluster ${cluster.name} is audited by another unit of account ${accountId}`
                : `cluster ${cluster.name} is audited by the unit of account ${accountId}`,
            },
          ],
        }),
      );
    }
  }
  return { files, missing, read, waitedMs: now().getTime() - started };
}
