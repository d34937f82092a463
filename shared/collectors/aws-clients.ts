/**
 * One place that builds the AWS SDK clients of the collectors, with the same defaults: adaptive
 * retry (client-side rate limiting on throttling), a bounded number of attempts, and per-service
 * endpoints from the environment (`AWS_ENDPOINT_URL_IAM`, ... honoured by the SDK itself).
 */
import { createRequire } from 'node:module';
import { AccountClient } from '@aws-sdk/client-account';
import type * as Ec2Sdk from '@aws-sdk/client-ec2';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { IAMClient } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import { type ClassifiedFailure, classifyAwsError, ReadError } from './failures.ts';

export type Credentials = AwsCredentialIdentity | AwsCredentialIdentityProvider;

export interface ClientOptions {
  /** Attempts per call, retries included (adaptive retry mode). */
  readonly maxAttempts?: number;
  /** How long one attempt may wait for its whole answer (default 30 s). */
  readonly requestTimeoutMs?: number;
}

const DEFAULT_MAX_ATTEMPTS = 6;

/** Defined (true) by the Lambda functions' bundling (infra/lib/audit-function.ts); absent elsewhere. */
declare const IRSA_SDK_BUNDLED: boolean | undefined;

let ec2Sdk: Promise<typeof Ec2Sdk> | undefined;

/**
 * @aws-sdk/client-ec2, loaded on first use (see {@link AwsClients.ec2}). Its CommonJS build is one
 * 2 MB file in a package that declares no module type, and Node compiles such a file twice when it
 * is `import()`ed (once to find out that it is CommonJS, then to run it): `require` loads it with
 * 0.2 to 0.3 s less CPU (Node 20 and 24, after the other clients, measured), mid-collection on the
 * thread that sends every request. Where the SDK is bundled (the Lambda functions), the import
 * stays, for esbuild to resolve at build time.
 */
export function loadEc2Sdk(): Promise<typeof Ec2Sdk> {
  ec2Sdk ??=
    typeof IRSA_SDK_BUNDLED !== 'undefined'
      ? import('@aws-sdk/client-ec2')
      : Promise.resolve().then(() => createRequire(import.meta.url)('@aws-sdk/client-ec2') as typeof Ec2Sdk);
  return ec2Sdk;
}

/**
 * No SDK call waits without bound (by default the SDK's Node handler has no timeout at all): a
 * connection gets 10 s (milliseconds to a reachable AWS endpoint), and an attempt 30 s for its
 * whole answer (these calls answer in well under a second; a page of ListRoles is small). A timed-out
 * attempt is retried like a network error, so one call waits at most maxAttempts times this.
 */
const REQUEST_HANDLER = {
  connectionTimeout: 10_000,
  requestTimeout: 30_000,
  // Without it, @smithy/node-http-handler only logs a warning when requestTimeout passes.
  throwOnRequestTimeout: true,
} as const;

/** The region for global services (IAM, Organizations) and STS calls. */
export function homeRegion(): string {
  return process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || 'us-east-1';
}

/** The SDK clients for one set of credentials (an account's audit role, or the caller's). */
export class AwsClients {
  readonly credentials: Credentials | undefined;
  private readonly options: Required<ClientOptions>;
  private readonly eksByRegion = new Map<string, EKSClient>();
  private readonly accountByRegion = new Map<string, AccountClient>();
  private readonly ec2ByRegion = new Map<string, Promise<EC2Client>>();
  private cachedIam: IAMClient | undefined;
  private cachedSts: STSClient | undefined;
  private cachedOrganizations: OrganizationsClient | undefined;

  /** `credentials` undefined: the SDK's default chain (environment, profile, SSO, instance role ...). */
  constructor(credentials?: Credentials, options: ClientOptions = {}) {
    this.credentials = credentials;
    this.options = {
      maxAttempts: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      requestTimeoutMs: options.requestTimeoutMs ?? REQUEST_HANDLER.requestTimeout,
    };
  }

  private config(region: string) {
    return {
      region,
      retryMode: 'adaptive',
      maxAttempts: this.options.maxAttempts,
      requestHandler: { ...REQUEST_HANDLER, requestTimeout: this.options.requestTimeoutMs },
      // The middleware stack is resolved once per command class, not on each of thousands of calls.
      cacheMiddleware: true,
      ...(this.credentials ? { credentials: this.credentials } : {}),
    };
  }

  get iam(): IAMClient {
    this.cachedIam ??= new IAMClient(this.config('us-east-1'));
    return this.cachedIam;
  }

  get sts(): STSClient {
    this.cachedSts ??= new STSClient(this.config(homeRegion()));
    return this.cachedSts;
  }

  get organizations(): OrganizationsClient {
    this.cachedOrganizations ??= new OrganizationsClient(this.config('us-east-1'));
    return this.cachedOrganizations;
  }

  eks(region: string): EKSClient {
    let client = this.eksByRegion.get(region);
    if (!client) {
      client = new EKSClient(this.config(region));
      this.eksByRegion.set(region, client);
    }
    return client;
  }

  /**
   * The EC2 client of a region, loaded on first use: @aws-sdk/client-ec2 takes about a second of
   * CPU to load, and only the launch template reads of node groups (IRSA-060) need it, so the
   * commands and functions that never make them (planner, enroll, token) do not pay for it.
   */
  ec2(region: string): Promise<EC2Client> {
    let client = this.ec2ByRegion.get(region);
    if (!client) {
      client = loadEc2Sdk().then(({ EC2Client }) => new EC2Client(this.config(region)));
      this.ec2ByRegion.set(region, client);
    }
    return client;
  }

  account(region = homeRegion()): AccountClient {
    let client = this.accountByRegion.get(region);
    if (!client) {
      client = new AccountClient(this.config(region));
      this.accountByRegion.set(region, client);
    }
    return client;
  }

  /** Resolved credentials (for signing the EKS token). */
  async resolveCredentials(): Promise<AwsCredentialIdentity> {
    const provider = this.sts.config.credentials;
    return provider();
  }

  /**
   * Closes the EKS, EC2 and Account clients of every region and forgets them; a later call makes
   * new ones. For an account whose clusters are all collected: IAM (its roles' policies, read to
   * the end of the run) and STS stay. Each client holds its configuration, middleware and
   * connections: kept for every account until the run's end, they grew the collector by about
   * 2 MB an account.
   */
  releaseRegionalClients(): void {
    for (const client of [...this.eksByRegion.values(), ...this.accountByRegion.values()]) client.destroy();
    for (const client of this.ec2ByRegion.values())
      client.then(
        (c) => c.destroy(),
        () => {},
      );
    this.eksByRegion.clear();
    this.accountByRegion.clear();
    this.ec2ByRegion.clear();
  }

  destroy(): void {
    for (const client of [this.cachedIam, this.cachedSts, this.cachedOrganizations]) client?.destroy();
    this.releaseRegionalClients();
  }
}

/** A short code, message, failure class and HTTP status for an SDK error, for collection-errors.json. */
export function describeAwsError(error: unknown): ClassifiedFailure {
  return classifyAwsError(error instanceof ReadError ? error.cause : error);
}
