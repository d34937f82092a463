/**
 * The environment variables that hold an AWS credential: the SDKs' static credentials (the three
 * the snapshot contract names), the older name of the session token, the container credentials
 * provider's literal token (not its `_FILE` form, which Pod Identity uses), and Bedrock's API key. The
 * auditor never keeps the value of one it reads (docs/fleet-format.md, kubernetes.json): the
 * collector drops them as it trims a pod, and the snapshot parser drops them from a snapshot
 * written by hand, so no check can print one.
 */
export const CREDENTIAL_VARIABLES: ReadonlySet<string> = new Set([
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_SECURITY_TOKEN',
  'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  'AWS_BEARER_TOKEN_BEDROCK',
]);

/** What a credential variable's literal value becomes: it says a literal was set, not what. */
export const REDACTED_VALUE = '<redacted>';
