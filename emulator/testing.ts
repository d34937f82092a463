/**
 * Helpers for tests that run real clients against the emulator: SDK v3 clients on its endpoint,
 * AssumeRole into a fleet account, and @kubernetes/client-node APIs for an emulated cluster with
 * a real EKS token and real TLS verification.
 */
import { request as httpsRequest } from 'node:https';
import { AccountClient } from '@aws-sdk/client-account';
import { EKSClient } from '@aws-sdk/client-eks';
import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { AdmissionregistrationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { AwsCredentialIdentity } from '@smithy/types';
import { createEksToken } from '#shared/aws/eks-token.ts';
import type { EmulatedCluster, Emulator } from './index.ts';

/** The management account's static credentials (what `emulator.env` exports). */
export function managementCredentials(emulator: Emulator): AwsCredentialIdentity {
  return {
    accessKeyId: emulator.env.AWS_ACCESS_KEY_ID ?? '',
    secretAccessKey: emulator.env.AWS_SECRET_ACCESS_KEY ?? '',
  };
}

/** Real SDK clients pointed at the emulator (`maxAttempts: 1` to see each injected fault). */
export function awsClients(
  emulator: Emulator,
  credentials: AwsCredentialIdentity,
  options: { region?: string; maxAttempts?: number } = {},
) {
  const config = {
    endpoint: emulator.endpoint,
    region: options.region ?? 'us-east-1',
    credentials,
    maxAttempts: options.maxAttempts ?? 3,
  };
  return {
    sts: new STSClient(config),
    iam: new IAMClient(config),
    eks: new EKSClient(config),
    organizations: new OrganizationsClient(config),
    account: new AccountClient(config),
  };
}

/** sts:AssumeRole from the management account into `accountId` (role `irsa-auditor`). */
export async function assumeRoleIn(
  emulator: Emulator,
  accountId: string,
  options: { roleName?: string; externalId?: string } = {},
): Promise<AwsCredentialIdentity> {
  const { sts } = awsClients(emulator, managementCredentials(emulator));
  const { Credentials: issued } = await sts.send(
    new AssumeRoleCommand({
      RoleArn: `arn:aws:iam::${accountId}:role/${options.roleName ?? 'irsa-auditor'}`,
      RoleSessionName: 'audit',
      ExternalId: options.externalId,
    }),
  );
  return {
    accessKeyId: issued?.AccessKeyId ?? '',
    secretAccessKey: issued?.SecretAccessKey ?? '',
    sessionToken: issued?.SessionToken ?? '',
    expiration: issued?.Expiration,
  };
}

/** The emulated cluster named `name` (in `accountId` when names repeat across accounts). */
export function emulatedCluster(emulator: Emulator, name: string, accountId?: string): EmulatedCluster {
  const found = emulator.clusters.find(
    (candidate) => candidate.name === name && (!accountId || candidate.accountId === accountId),
  );
  if (!found) throw new Error(`the emulator serves no cluster ${name}`);
  return found;
}

/**
 * client-node APIs for `cluster`, authenticated with an EKS token signed by `credentials`;
 * `caPem` overrides the trusted CA, `tokenFor` mints the token for another cluster name.
 */
export async function kubernetesClients(
  cluster: EmulatedCluster,
  credentials: AwsCredentialIdentity,
  options: { caPem?: string; tokenFor?: string } = {},
) {
  const { token } = await createEksToken({
    clusterName: options.tokenFor ?? cluster.name,
    region: cluster.region,
    credentials,
  });
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [
      {
        name: cluster.name,
        server: cluster.endpoint,
        caData: Buffer.from(options.caPem ?? cluster.caPem).toString('base64'),
        skipTLSVerify: false,
      },
    ],
    users: [{ name: 'auditor', token }],
    contexts: [{ name: 'emulator', cluster: cluster.name, user: 'auditor' }],
    currentContext: 'emulator',
  });
  return {
    config,
    token,
    core: config.makeApiClient(CoreV1Api),
    admission: config.makeApiClient(AdmissionregistrationV1Api),
  };
}

export interface RawKubernetesResponse {
  readonly status: number;
  readonly text: string;
  readonly body: { kind?: string; reason?: string; message?: string; code?: number };
}

/** A GET with node:https (verifying the cluster CA), for what client-node hides (e.g. a 401's Status). */
export function kubernetesGet(
  cluster: EmulatedCluster,
  path: string,
  token: string,
): Promise<RawKubernetesResponse> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(
      `${cluster.endpoint}${path}`,
      { ca: cluster.caPem, headers: { authorization: `Bearer ${token}` } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => {
          try {
            resolve({ status: response.statusCode ?? 0, text, body: JSON.parse(text) });
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    request.on('error', reject);
    request.end();
  });
}

/** An AWS SDK error as a test reads it: the error name, message and HTTP status. */
export type SdkFailure = Error & { code?: number; body?: unknown; $metadata?: { httpStatusCode?: number } };

/** The error `promise` rejects with; a promise that resolves fails the test. */
export async function failure(promise: Promise<unknown>): Promise<SdkFailure> {
  try {
    await promise;
  } catch (error) {
    return error as SdkFailure;
  }
  throw new Error('expected a failure');
}
