/**
 * The limits AWS and Kubernetes put on the names the auditor reads (docs/checks.md, IRSA-010 and
 * AUDIT-004): a value outside them was not written by IAM, EKS or the API server as it is, so it is
 * reported as malformed, naming the field and the rule, never looked up, and never printed whole.
 *
 * Sources: IAM's API reference (Role: RoleName `[\w+=,.@-]{1,64}`, Path `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`
 * of 1 to 512; ARN format `arn:partition:iam::account-id:role/path/name`), the partitions AWS
 * publishes, EKS's issuer form (`https://oidc.eks.<region>.amazonaws.com/id/<id>`), and
 * Kubernetes' object names (namespaces: DNS-1123 labels; ServiceAccounts and Pods: DNS-1123
 * subdomains).
 */

/** The AWS partitions (arn:<partition>:...). */
export const PARTITIONS: readonly string[] = [
  'aws',
  'aws-cn',
  'aws-us-gov',
  'aws-iso',
  'aws-iso-b',
  'aws-iso-e',
  'aws-iso-f',
  'aws-eusc',
];

export const ROLE_NAME_MAX = 64;
export const ROLE_PATH_MAX = 512;
const ROLE_NAME = /^[\w+=,.@-]+$/;
const ROLE_PATH = /^\/(?:[\u0021-\u007E]+\/)?$/;
const ACCOUNT_ID = /^\d{12}$/;
/** A DNS-1123 label: a namespace. */
const DNS1123_LABEL = /^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$/;
/** A DNS-1123 subdomain: a ServiceAccount's or a Pod's name. */
const DNS1123_SUBDOMAIN = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
/** An EKS cluster name: 1 to 100 of letters, digits, - and _, starting with a letter or digit. */
const EKS_CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
/**
 * The issuer of an EKS cluster's service account tokens. EKS's ids are 32 hexadecimal digits;
 * AWS-compatible endpoints (moto: 10 random letters and digits) make shorter ones, so any id of 1 to
 * 64 letters and digits is taken.
 */
const EKS_ISSUER =
  /^https:\/\/oidc\.eks\.[a-z]{2}(?:-[a-z]+)+-\d{1,2}\.amazonaws\.com(?:\.cn)?\/id\/[0-9A-Za-z]{1,64}$/;

/** `70,000 characters` (how long a value is, said when it is too long to show). */
function chars(value: string): string {
  return `${value.length.toLocaleString('en-US')} characters`;
}

export function isAccountId(value: string): boolean {
  return ACCOUNT_ID.test(value);
}

/** Why `name` is not an IAM role name, or null when it is one. */
export function roleNameProblem(name: string): string | null {
  if (name.length === 0) return 'the role name is empty';
  if (name.length > ROLE_NAME_MAX)
    return `the role name has ${chars(name)}; IAM allows 1 to ${ROLE_NAME_MAX}`;
  if (!ROLE_NAME.test(name))
    return 'the role name holds characters IAM does not allow (only letters, digits and +=,.@_-)';
  return null;
}

/** Why `path` is not an IAM path, or null when it is one. */
export function rolePathProblem(path: string): string | null {
  if (path.length > ROLE_PATH_MAX)
    return `the role path has ${chars(path)}; IAM allows at most ${ROLE_PATH_MAX}`;
  if (!ROLE_PATH.test(path))
    return 'the role path is not "/" or "/a/b/" of printable characters, as IAM requires';
  return null;
}

export interface RoleArn {
  readonly partition: string;
  readonly accountId: string;
  readonly path: string;
  readonly name: string;
}

export type RoleArnParse =
  | { readonly ok: true; readonly arn: RoleArn }
  | { readonly ok: false; readonly problem: string };

/** A parse that failed, and why. (Not a closure in parseRoleArn: it runs for every ServiceAccount.) */
function fail(problem: string): RoleArnParse {
  return { ok: false, problem };
}

/**
 * Parses an IAM role ARN by IAM's own rules, saying what is wrong when it is not one: the form,
 * the partition, the account id, the path, the name.
 */
export function parseRoleArn(value: string): RoleArnParse {
  if (value !== value.trim()) return fail('it has spaces or line breaks around it');
  if (/^["']|["']$/.test(value)) return fail('it is quoted');
  const parts = value.split(':');
  if (parts.length !== 6 || parts[0] !== 'arn')
    return fail('it is not of the form arn:PARTITION:iam::ACCOUNT_ID:role/NAME');
  const [, partition = '', service = '', region = '', accountId = '', resource = ''] = parts;
  if (!PARTITIONS.includes(partition))
    return fail(`"${partition.slice(0, 32)}" is not an AWS partition (${PARTITIONS.join(', ')})`);
  if (service !== 'iam') return fail(`the service is "${service.slice(0, 32)}", not iam`);
  if (region !== '') return fail('an IAM ARN has no region');
  if (!ACCOUNT_ID.test(accountId)) return fail('the account id is not 12 digits');
  if (!resource.startsWith('role/')) return fail('the resource is not role/NAME');
  const slash = resource.lastIndexOf('/');
  const path = resource.slice(4, slash + 1);
  const name = resource.slice(slash + 1);
  const problem = rolePathProblem(path) ?? roleNameProblem(name);
  return problem ? fail(problem) : { ok: true, arn: { partition, accountId, path, name } };
}

/** Whether the value is an IAM role ARN by IAM's rules. */
export function isRoleArn(value: string): boolean {
  return parseRoleArn(value).ok;
}

/** Why `value` is not a Kubernetes namespace name (a DNS-1123 label), or null. */
export function namespaceProblem(value: string): string | null {
  if (value.length > 63) return `a namespace name has at most 63 characters, this one ${chars(value)}`;
  return DNS1123_LABEL.test(value) ? null : 'not a DNS-1123 label (lower-case letters, digits and -)';
}

/** Why `value` is not a Kubernetes object name (a DNS-1123 subdomain: ServiceAccounts, Pods), or null. */
export function objectNameProblem(value: string): string | null {
  if (value.length > 253) return `an object name has at most 253 characters, this one ${chars(value)}`;
  return DNS1123_SUBDOMAIN.test(value)
    ? null
    : 'not a DNS-1123 subdomain (lower-case letters, digits, - and .)';
}

const REGION = /^[a-z]{2}(?:-[a-z]+)+-\d{1,2}$/;

/** Why `value` is not an AWS region name, or null. */
export function regionProblem(value: string): string | null {
  return REGION.test(value) ? null : 'not an AWS region name (such as eu-west-1)';
}

/** Why `value` is not an EKS cluster name, or null. */
export function clusterNameProblem(value: string): string | null {
  return EKS_CLUSTER_NAME.test(value)
    ? null
    : 'not an EKS cluster name (1 to 100 letters, digits, - and _, starting with a letter or digit)';
}

/** Why `value` is not the OIDC issuer of an EKS cluster, or null. */
export function eksIssuerProblem(value: string): string | null {
  if (value.length > 256) return `an EKS issuer is about 90 characters, this one ${chars(value)}`;
  return EKS_ISSUER.test(value)
    ? null
    : 'not an EKS issuer (https://oidc.eks.REGION.amazonaws.com/id/ and an id of letters and digits)';
}
