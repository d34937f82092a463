/**
 * `irsa-audit token --cluster NAME [--region R]`: print an EKS bearer token as ExecCredential JSON, like
 * `aws eks get-token`, for a kubeconfig `exec` entry. The token is signed locally (no API call).
 * It is a credential: it goes to stdout only, never to stderr or an error message.
 */
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { createEksToken } from '#shared/aws/eks-token.ts';

export const EXEC_CREDENTIAL_API_VERSION = 'client.authentication.k8s.io/v1beta1';

/** A failure the CLI reports as `irsa-audit: <message>` with exit code 2. */
export class TokenCommandError extends Error {
  override name = 'TokenCommandError';
}

export interface TokenOptions {
  cluster: string;
  region: string;
}

export interface TokenIo {
  stdout(text: string): void;
  /** Signing time (default: the current time). */
  now?: Date;
  /** Where credentials come from (default: the AWS SDK's default credential chain). */
  credentials?: AwsCredentialIdentityProvider;
}

/** --region, else AWS_REGION, else AWS_DEFAULT_REGION; a TokenCommandError when none is set. */
export function resolveTokenRegion(flag: string | undefined, env: NodeJS.ProcessEnv): string {
  const region = flag || env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!region) throw new TokenCommandError('no AWS region: pass --region or set AWS_REGION');
  return region;
}

async function defaultCredentialChain(region: string): Promise<AwsCredentialIdentityProvider> {
  // The SDK's default chain (env, SSO, ini, process, web identity, ECS, IMDS), as every SDK client uses it.
  const { STSClient } = await import('@aws-sdk/client-sts');
  return new STSClient({ region }).config.credentials;
}

/** Seconds precision, `Z` suffix: what `aws eks get-token` prints as expirationTimestamp. */
function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export async function runTokenCommand(options: TokenOptions, io: TokenIo): Promise<void> {
  if (!options.cluster) throw new TokenCommandError('no cluster name: pass --cluster NAME');
  const provider = io.credentials ?? (await defaultCredentialChain(options.region));
  let credentials: AwsCredentialIdentity;
  try {
    credentials = await provider();
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new TokenCommandError(`no AWS credentials found (${detail})`);
  }
  let signed: Awaited<ReturnType<typeof createEksToken>>;
  try {
    signed = await createEksToken({
      clusterName: options.cluster,
      region: options.region,
      credentials,
      now: io.now,
    });
  } catch (error) {
    // Input errors (bad region or cluster name); the messages never contain credentials.
    throw new TokenCommandError(error instanceof Error ? error.message : String(error));
  }
  const execCredential = {
    kind: 'ExecCredential',
    apiVersion: EXEC_CREDENTIAL_API_VERSION,
    spec: {},
    status: { expirationTimestamp: isoSeconds(signed.expiresAt), token: signed.token },
  };
  io.stdout(`${JSON.stringify(execCredential)}\n`);
}
