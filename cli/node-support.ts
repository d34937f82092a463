/**
 * Node.js 20 reached its end of life in April 2026, and the AWS SDK for JavaScript versions
 * published after the first week of January 2027 need Node.js 22 or later; irsa-audit still runs
 * on Node 20 (package.json engines) until it needs such an SDK.
 *
 * On Node 20 the SDK prints a seven-line NodeVersionSupportWarning in every process that builds a
 * client, so every command that calls AWS repeated it. Instead, on Node before 22: the SDK's
 * warning is switched off with its documented variable (AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true,
 * unless the user set it either way), and irsa-audit prints one line of its own on stderr, at most
 * once a day per user (a stamp file in the user's cache folder), whatever the command.
 * IRSA_AUDIT_NODE_NOTICE=off hides it. The Lambda functions run on Node 24 and never see this.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The first Node.js major version the AWS SDK supports after January 2027. */
export const SDK_NODE_MAJOR = 22;

export const SDK_WARNING_SWITCH = 'AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED';

export interface NodeNoticeIo {
  readonly env: NodeJS.ProcessEnv;
  readonly stderr: (text: string) => void;
  /** The stamp file recording the day the notice was last shown (default: in the user's cache folder). */
  readonly stampFile?: string;
  readonly now?: Date;
}

/** `$XDG_CACHE_HOME/irsa-audit/node-notice`, else `~/.cache/irsa-audit/node-notice`. */
export function defaultStampFile(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'irsa-audit', 'node-notice');
}

/** On Node before 22: the SDK's warning off, and our one-line notice once a day. Returns whether it was printed. */
export function nodeSupportNotice(nodeVersion: string, io: NodeNoticeIo): boolean {
  const major = Number.parseInt(nodeVersion, 10);
  if (!(major < SDK_NODE_MAJOR)) return false;
  if (io.env[SDK_WARNING_SWITCH] === undefined) io.env[SDK_WARNING_SWITCH] = 'true';
  if (io.env.IRSA_AUDIT_NODE_NOTICE === 'off') return false;
  const today = (io.now ?? new Date()).toISOString().slice(0, 10);
  const stamp = io.stampFile ?? defaultStampFile(io.env);
  try {
    if (readFileSync(stamp, 'utf8').trim() === today) return false;
  } catch {
    // No stamp yet (or unreadable): show the notice.
  }
  try {
    mkdirSync(join(stamp, '..'), { recursive: true });
    writeFileSync(stamp, `${today}\n`);
  } catch {
    // A read-only home: the notice shows on every run rather than never.
  }
  io.stderr(
    `irsa-audit: Node.js ${nodeVersion} is past its end of life (April 2026), and the AWS SDK needs Node.js ` +
      `${SDK_NODE_MAJOR} or later from January 2027: please upgrade (shown once a day; IRSA_AUDIT_NODE_NOTICE=off hides it)\n`,
  );
  return true;
}
