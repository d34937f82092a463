/**
 * The planner's use-case: start a run and send one work message per account. Safe to repeat for
 * the same run id (EventBridge delivers at least once): the run is created once, and the auditor
 * skips what a first delivery already did.
 */
import { type AccountSelection, resolveAccounts } from '../collectors/accounts.ts';
import type { AwsClients } from '../collectors/aws-clients.ts';
import type { AccountViewStore } from '../history/account-views.ts';
import type { FindingStore } from '../history/finding-store.ts';
import type { WorkMessage } from './work-message.ts';

export interface PlanRunDeps {
  readonly store: FindingStore;
  /** Where the run's plan is recorded for the auditor units (cross-account.ts); absent: not recorded. */
  readonly views?: AccountViewStore;
  readonly caller: AwsClients;
  readonly accounts: AccountSelection;
  readonly regions?: readonly string[];
  /** Sends the messages (SQS SendMessageBatch in production). */
  readonly enqueue: (messages: readonly WorkMessage[]) => Promise<void>;
}

export interface PlannedRun {
  readonly runId: string;
  readonly runAt: string;
  readonly accounts: readonly string[];
}

/** The run id of a scheduled night: its scheduled time, to the minute (`2026-11-22T02:00Z`). */
export function runIdFor(time: Date, suffix?: string): string {
  const id = `${time.toISOString().slice(0, 16)}Z`;
  return suffix ? `${id}-${suffix}` : id;
}

export async function planRun(run: { runId: string; runAt: string }, deps: PlanRunDeps): Promise<PlannedRun> {
  const accounts = await resolveAccounts(deps.accounts, deps.caller);
  if (accounts.length === 0) throw new Error(`no account to audit (selection: ${deps.accounts.kind})`);
  await deps.store.startRun(run.runId, run.runAt, accounts.length);
  // Before any message: a unit reads the plan to know which accounts' views to wait for.
  await deps.views?.putPlan(run.runId, accounts, run.runAt);
  await deps.enqueue(
    accounts.map((accountId) => ({
      version: 1 as const,
      runId: run.runId,
      runAt: run.runAt,
      accountId,
      ...(deps.regions?.length ? { regions: [...deps.regions] } : {}),
    })),
  );
  return { runId: run.runId, runAt: run.runAt, accounts };
}
