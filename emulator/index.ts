/**
 * A local emulator of the AWS and Kubernetes APIs that the auditor's collectors call, serving a
 * fleet snapshot directory over real HTTP(S) on 127.0.0.1, so that the real AWS SDK v3 clients and
 * the real @kubernetes/client-node can run against it unchanged.
 *
 * - AWS: one HTTP server for STS, IAM, EKS, Organizations and Account (see aws-server.ts), and
 *   SNS and SQS with their topics, subscriptions and queues in memory (see sns.ts and sqs.ts).
 *   Security Hub's BatchImportFindings, validating each finding as ASFF (see security-hub.ts).
 * - Kubernetes: one HTTPS server per cluster, each with its own CA (see kubernetes-server.ts).
 *   DescribeCluster returns that server's URL and CA; a cluster in `unreachableClusters` keeps
 *   its URL but nothing listens there, and one in `silentClusters` accepts connections there and
 *   never answers.
 */
import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { verifyEksToken } from '#shared/aws/eks-token.ts';
import { type ClusterAccess, createAwsHandler } from './aws-server.ts';
import { createClusterCertificates } from './certificates.ts';
import { CredentialStore } from './credentials.ts';
import { type AccessEntry, EksAccessEntries } from './eks-access.ts';
import { type FaultOptions, FaultState } from './faults.ts';
import { type FleetClusterFiles, type JsonObject, readFleetFiles } from './fleet-files.ts';
import { KubernetesRbac } from './kubernetes-rbac.ts';
import { KubernetesClusterServer } from './kubernetes-server.ts';
import { SecurityHubState } from './security-hub.ts';
import { SnsState } from './sns.ts';
import { SqsState } from './sqs.ts';
import { OidcIssuers } from './sts-web-identity.ts';
import { tokenReviews } from './token-reviews.ts';

export type { AccessEntry } from './eks-access.ts';
export type { FaultOptions } from './faults.ts';
export { EmulatorFleetError } from './fleet-files.ts';
export type { ImportFindingsError, SecurityHubImport } from './security-hub.ts';
export { asffProblem, SecurityHubState } from './security-hub.ts';
export type { PublishedSnsMessage, SnsAttributes, SnsDelivery } from './sns.ts';
export type { InspectedQueue, InspectedSqsMessage, SqsAttributes } from './sqs.ts';

/** What was published to SNS and delivered to each subscription. */
export type SnsInspection = Pick<
  SnsState,
  'published' | 'deliveries' | 'subscriptions' | 'topicArns' | 'clearPublished'
>;
/** The SQS queues and their messages, and the clock their visibility timeouts run on. */
export type SqsInspection = Pick<SqsState, 'queueList' | 'messages' | 'advanceClock' | 'now'>;
/** The findings imported into Security Hub, every import call, and findings to refuse. */
export type SecurityHubInspection = Pick<SecurityHubState, 'findings' | 'imports' | 'reject'>;

export interface EmulatedCluster {
  accountId: string;
  region: string;
  name: string;
  /** The cluster's API server URL (https://127.0.0.1:PORT), as DescribeCluster returns it. */
  endpoint: string;
  /** The cluster CA (PEM) that signs the API server's certificate. */
  caPem: string;
}

export interface Emulator {
  /** http://127.0.0.1:PORT, one server for every AWS service. */
  readonly endpoint: string;
  /** AWS_ENDPOINT_URL_*, the management account's static credentials, AWS_REGION, ... */
  readonly env: Record<string, string>;
  readonly managementAccountId: string;
  readonly clusters: readonly EmulatedCluster[];
  /** API key -> calls so far, e.g. `iam:ListRoles`, `k8s:<cluster>:pods`. */
  requestCounts(): Record<string, number>;
  /** TLS handshakes with the Kubernetes API servers, by `cluster:full` and `cluster:resumed`. */
  handshakeCounts(): Record<string, number>;
  /** Connections open now to each cluster's API endpoint, by cluster name (to see that a client closed its own). */
  openConnections(): Record<string, number>;
  /** Forgets the request and handshake counts. */
  resetCounts(): void;
  /** Replaces the current faults (the throttle/serverErrors/expireContinue counters restart). */
  setFaults(faults: FaultOptions): void;
  secretAccessKeyFor(accessKeyId: string): string | undefined;
  /** The EKS access entries written to cluster `name` (in `accountId` when names repeat), copies. */
  accessEntries(name: string, accountId?: string): AccessEntry[];
  /** The ClusterRoles, then ClusterRoleBindings, written to cluster `name`'s Kubernetes API, copies. */
  rbacObjects(name: string, accountId?: string): JsonObject[];
  /** Every service account token and web-identity secret key and session token issued so far (for leak tests). */
  webIdentitySecrets(): string[];
  /** SNS: `sns.published(topicArn?)`, `sns.deliveries(...)`, ... */
  readonly sns: SnsInspection;
  /** SQS: `sqs.messages(queueArnOrName)`, `sqs.advanceClock(seconds)`, ... */
  readonly sqs: SqsInspection;
  /** Security Hub: `securityHub.findings(productArn?)`, `securityHub.imports()`, `securityHub.reject(...)`. */
  readonly securityHub: SecurityHubInspection;
  stop(): Promise<void>;
}

export interface StartEmulatorOptions {
  fleetDir: string;
  faults?: FaultOptions;
  /** The account whose static credentials `env` holds (default: the first account id, sorted). */
  managementAccountId?: string;
  /** Port of the AWS endpoint (default: any free port). */
  port?: number;
  /**
   * Clusters whose snapshot says `endpointPublicAccess: false` are private, as EKS would say
   * (default: every emulated endpoint is public). Only a collector told it runs in their VPC reads them.
   */
  privateAsInSnapshot?: boolean;
  /** Security Hub's findings, kept across emulators (a pipeline's nights); default: a new, empty store. */
  securityHub?: SecurityHubState;
}

const EMULATOR_USER = 'irsa-auditor';

function listenHttp(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      resolve(address && typeof address === 'object' ? address.port : port);
    });
  });
}

/** Starts the emulator for the snapshot at `options.fleetDir`. */
export async function startEmulator(options: StartEmulatorOptions): Promise<Emulator> {
  const fleet = await readFleetFiles(options.fleetDir);
  const managementAccountId = options.managementAccountId ?? fleet.accounts[0]?.accountId ?? '';
  if (!/^\d{12}$/.test(managementAccountId)) {
    throw new Error(
      `managementAccountId must be a 12-digit account id, got ${JSON.stringify(managementAccountId)}`,
    );
  }
  const faults = new FaultState(options.faults ?? {}, options.privateAsInSnapshot === true);
  const credentials = new CredentialStore();
  const management = credentials.issueStatic(managementAccountId, EMULATOR_USER);
  const secretAccessKeyFor = (accessKeyId: string) => credentials.get(accessKeyId)?.secretAccessKey;

  const certificates = await createClusterCertificates(fleet.clusters.length, (index) => {
    const cluster = fleet.clusters[index];
    return `irsa-auditor emulator ${cluster?.name ?? index}`.slice(0, 52);
  });
  const servers = new Map<FleetClusterFiles, KubernetesClusterServer>();
  const accessEntries = new EksAccessEntries();
  const issuers = new OidcIssuers();
  const sqs = new SqsState();
  const sns = new SnsState({ sqs });
  const securityHub = options.securityHub ?? new SecurityHubState();
  const rbac = new Map(fleet.clusters.map((cluster) => [cluster, new KubernetesRbac()]));
  const fleetCluster = (name: string, accountId?: string): FleetClusterFiles => {
    const found = fleet.clusters.find((c) => c.name === name && (!accountId || c.accountId === accountId));
    if (!found)
      throw new Error(`the emulator serves no cluster ${name}${accountId ? ` in ${accountId}` : ''}`);
    return found;
  };
  fleet.clusters.forEach((cluster, index) => {
    const tls = certificates[index];
    if (!tls) throw new Error(`no certificate for cluster ${cluster.name}`);
    servers.set(
      cluster,
      new KubernetesClusterServer({
        cluster,
        tls,
        faults,
        verifyToken: tokenReviews((token) =>
          verifyEksToken(token, { clusterName: cluster.name, secretAccessKeyFor, now: new Date() }),
        ),
        principalOf: (accessKeyId) => credentials.get(accessKeyId),
        rbac: rbac.get(cluster),
        issuers,
      }),
    );
  });

  const awsServer = createServer();
  const awsSockets = new Set<Socket>();
  awsServer.on('connection', (socket: Socket) => {
    awsSockets.add(socket);
    socket.on('close', () => awsSockets.delete(socket));
  });

  const stopAll = async () => {
    sqs.close();
    await Promise.all([...servers.values()].map((server) => server.close()));
    await new Promise<void>((resolve) => {
      if (!awsServer.listening) return resolve();
      awsServer.close(() => resolve());
      for (const socket of awsSockets) socket.destroy();
    });
  };

  try {
    // Every server listens once to get its port; unreachable clusters then close theirs.
    await Promise.all([...servers.values()].map((server) => server.listen()));
    await applyReachability(fleet.clusters, servers, faults);
    const access = (cluster: FleetClusterFiles): ClusterAccess => {
      const server = servers.get(cluster);
      if (!server) throw new Error(`unknown cluster ${cluster.name}`);
      return { endpoint: server.endpoint, caPem: server.caPem };
    };
    awsServer.on(
      'request',
      createAwsHandler({
        fleet,
        managementAccountId,
        credentials,
        faults,
        clusterAccess: access,
        accessEntries,
        issuers,
        sqs,
        sns,
        securityHub,
      }),
    );
    const port = await listenHttp(awsServer, options.port ?? 0);
    const endpoint = `http://127.0.0.1:${port}`;
    const clusters: EmulatedCluster[] = fleet.clusters.map((cluster) => ({
      accountId: cluster.accountId,
      region: cluster.region,
      name: cluster.name,
      ...access(cluster),
    }));
    const region = fleet.accounts.flatMap((account) => account.regions)[0] ?? 'us-east-1';
    const env: Record<string, string> = {
      AWS_ENDPOINT_URL_IAM: endpoint,
      AWS_ENDPOINT_URL_STS: endpoint,
      AWS_ENDPOINT_URL_EKS: endpoint,
      AWS_ENDPOINT_URL_EC2: endpoint,
      AWS_ENDPOINT_URL_ORGANIZATIONS: endpoint,
      AWS_ENDPOINT_URL_ACCOUNT: endpoint,
      AWS_ENDPOINT_URL_SNS: endpoint,
      AWS_ENDPOINT_URL_SQS: endpoint,
      AWS_ENDPOINT_URL_SECURITYHUB: endpoint,
      AWS_ACCESS_KEY_ID: management.accessKeyId,
      AWS_SECRET_ACCESS_KEY: management.secretAccessKey,
      AWS_REGION: region,
      AWS_EC2_METADATA_DISABLED: 'true',
    };
    let stopped: Promise<void> | undefined;
    return {
      endpoint,
      env,
      managementAccountId,
      clusters,
      requestCounts: () => faults.requestCounts(),
      handshakeCounts: () => faults.handshakeCounts(),
      resetCounts: () => faults.resetCounts(),
      openConnections: () => {
        const open: Record<string, number> = {};
        for (const [cluster, server] of servers)
          open[cluster.name] = (open[cluster.name] ?? 0) + server.openConnections;
        return open;
      },
      setFaults: (next) => {
        faults.set(next);
        if (stopped) return;
        applyReachability(fleet.clusters, servers, faults).catch((error: unknown) => {
          process.emitWarning(`emulator: cannot reopen a cluster's API server: ${(error as Error).message}`);
        });
      },
      secretAccessKeyFor,
      accessEntries: (name, accountId) => accessEntries.list(fleetCluster(name, accountId)),
      rbacObjects: (name, accountId) => rbac.get(fleetCluster(name, accountId))?.objects() ?? [],
      webIdentitySecrets: () => issuers.issuedSecrets(),
      sns,
      sqs,
      securityHub,
      stop: () => {
        stopped ??= stopAll();
        return stopped;
      },
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Closes the servers of unreachable clusters, silences the silent ones and reopens the others (on their ports). */
async function applyReachability(
  clusters: readonly FleetClusterFiles[],
  servers: ReadonlyMap<FleetClusterFiles, KubernetesClusterServer>,
  faults: FaultState,
): Promise<void> {
  await Promise.all(
    clusters.map((cluster) => {
      const server = servers.get(cluster);
      if (!server) return undefined;
      if (faults.isUnreachable(cluster)) return server.close();
      return server.listen(faults.isSilent(cluster) ? 'silent' : 'serve');
    }),
  );
}
