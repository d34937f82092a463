/**
 * Parsing of IAM permission (identity) policies: a role's inline policies and the default
 * versions of its customer-managed policies, for IRSA-023. Like trust policies (policy-document.ts)
 * they come in three encodings and with single values where lists are allowed; unlike them they
 * have `Resource`/`NotResource` and no `Principal`. Each statement keeps its text as written, so
 * that a corrected statement changes only what it must.
 */
import { decodeDocumentString } from './policy-document.ts';

export interface PermissionStatement {
  /** Position in the document's Statement list, from 0. */
  readonly index: number;
  readonly sid: string | undefined;
  readonly effect: 'Allow' | 'Deny';
  readonly action: readonly string[] | undefined;
  readonly notAction: readonly string[] | undefined;
  readonly resource: readonly string[] | undefined;
  readonly notResource: readonly string[] | undefined;
  /** The statement as written. */
  readonly written: Readonly<Record<string, unknown>>;
}

export interface PermissionPolicy {
  readonly version: string | undefined;
  readonly statements: readonly PermissionStatement[];
  /** The document as written (decoded). */
  readonly written: Readonly<Record<string, unknown>>;
}

export type PermissionParse = { ok: true; policy: PermissionPolicy } | { ok: false; error: string };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const own = (record: Record<string, unknown>, name: string): unknown =>
  Object.hasOwn(record, name) ? record[name] : undefined;

function list(value: unknown, where: string): string[] | { error: string } | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.length > 0 && value.every((item) => typeof item === 'string')) {
    return value as string[];
  }
  return { error: `${where} must be a string or a non-empty list of strings` };
}

/**
 * Decodes and parses a permission policy given as the API's URL-encoded string, a JSON string or
 * the decoded object. Never throws; a document IAM would not have stored yields `{ok: false}`.
 */
export function parsePermissionPolicy(raw: unknown): PermissionParse {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    const decoded = decodeDocumentString(raw);
    if (!decoded.ok) return decoded;
    value = decoded.value;
  }
  if (!isRecord(value)) return { ok: false, error: 'the document must be a JSON object' };
  const version = own(value, 'Version');
  const statement = own(value, 'Statement');
  if (statement === undefined) return { ok: false, error: 'the document has no Statement' };
  const written = Array.isArray(statement) ? statement : [statement];
  const statements: PermissionStatement[] = [];
  for (const [index, item] of written.entries()) {
    const where = `Statement[${index}]`;
    if (!isRecord(item)) return { ok: false, error: `${where} must be an object` };
    const effect = own(item, 'Effect');
    if (effect !== 'Allow' && effect !== 'Deny') {
      return { ok: false, error: `${where}.Effect must be "Allow" or "Deny"` };
    }
    const fields = {
      action: list(own(item, 'Action'), `${where}.Action`),
      notAction: list(own(item, 'NotAction'), `${where}.NotAction`),
      resource: list(own(item, 'Resource'), `${where}.Resource`),
      notResource: list(own(item, 'NotResource'), `${where}.NotResource`),
    };
    for (const field of Object.values(fields)) {
      if (field && !Array.isArray(field)) return { ok: false, error: field.error };
    }
    const { action, notAction, resource, notResource } = fields as Record<string, string[] | undefined>;
    if ((action === undefined) === (notAction === undefined)) {
      return { ok: false, error: `${where} must have exactly one of Action and NotAction` };
    }
    if ((resource === undefined) === (notResource === undefined)) {
      return { ok: false, error: `${where} must have exactly one of Resource and NotResource` };
    }
    const sid = own(item, 'Sid');
    statements.push({
      index,
      sid: typeof sid === 'string' ? sid : undefined,
      effect,
      action,
      notAction,
      resource,
      notResource,
      written: item,
    });
  }
  return {
    ok: true,
    policy: { version: typeof version === 'string' ? version : undefined, statements, written: value },
  };
}
