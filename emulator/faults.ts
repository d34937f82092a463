/**
 * Fault injection and request counting. An API key names one operation: `iam:ListRoles`,
 * `eks:DescribeCluster`, `k8s:<cluster>:pods`, ... Faults are decided per key, in call order,
 * before the operation runs; counts include every call that reached the emulator (faulted or not).
 */

export interface FaultOptions {
  /** Added to every response (AWS and Kubernetes). */
  latencyMs?: number;
  /** API key -> how many first calls are throttled. */
  throttle?: Record<string, number>;
  /** API key -> how many calls (after the throttled ones) get a 5xx server error. */
  serverErrors?: Record<string, number>;
  /** Kubernetes API key -> how many requests WITH a continue token get 410 Gone (reason Expired). */
  expireContinue?: Record<string, number>;
  /**
   * Kubernetes API keys (`k8s:<cluster>:<resource>`) whose list pages come back cut off halfway
   * through their JSON, with status 200: as from a proxy that lost the end of the response.
   */
  malformedLists?: string[];
  /**
   * Kubernetes API keys whose list pages are valid JSON but whose last item has a field of a type
   * the API server never gives it: its `metadata.ownerReferences` is a string, not a list.
   */
  misshapenLists?: string[];
  /**
   * Hostile list pages (the bounds of shared/collectors/kubernetes.ts): Kubernetes API key -> the
   * size in bytes of each list page, as a server that never ends its answer. The page's items are
   * followed by copies of them, written as the client reads them (never built in memory), so a
   * page of gigabytes costs the emulator nothing; a client that reads it all gets a valid list.
   */
  hugePages?: Record<string, number>;
  /**
   * Kubernetes API key -> how many items each list page has, whatever `limit` asked for (the
   * items repeated): a server that does not page as asked.
   */
  oversizedPages?: Record<string, number>;
  /**
   * Kubernetes API keys whose every list page has a continue token, a new one each time (the items
   * go round): a list that never ends.
   */
  endlessContinue?: string[];
  /** Kubernetes API keys whose every list page has the same continue token: following it loops. */
  loopingContinue?: string[];
  /**
   * Cluster names whose API server sends each list page's body a few bytes at a time, with a pause
   * between (`trickle`): the bytes keep coming, too slowly, so no idle timeout ever fires.
   */
  tricklingClusters?: string[];
  /** How a trickling cluster sends: `bytes` at a time, every `everyMs` (default 64 bytes every 50 ms). */
  trickle?: { bytes?: number; everyMs?: number };
  /** Cluster names whose Kubernetes API refuses connections (`name` or `account/region/name`). */
  unreachableClusters?: string[];
  /** Cluster names whose Kubernetes API answers 401 to every request (no access entry). */
  forbiddenClusters?: string[];
  /**
   * Cluster names whose API endpoint accepts TCP connections and never sends a byte (no TLS
   * handshake): what a black-holed route or a firewall that accepts and drops looks like from outside.
   */
  silentClusters?: string[];
  /**
   * Cluster names whose API server completes the TLS handshake and reads each request (counted),
   * then never answers: an API server or proxy that hangs.
   */
  stalledClusters?: string[];
  /**
   * Cluster names whose DescribeCluster says the public endpoint is off (`endpointPublicAccess`
   * false, `endpointPrivateAccess` true). The emulator still serves their API, as it would be
   * served to a collector inside the cluster's VPC. The other clusters say the public endpoint is
   * on: every emulated API is reachable on loopback, whatever the snapshot's cluster.json says.
   */
  privateClusters?: string[];
  /** Cluster name -> the publicAccessCidrs its DescribeCluster reports (default: 0.0.0.0/0). */
  publicAccessCidrs?: Record<string, string[]>;
  /** Account ids for which sts:AssumeRole returns AccessDenied. */
  deniedAccounts?: string[];
  /** Cluster names whose RBAC denies the auditor create on serviceaccounts/token (403), as without the probe ClusterRole. */
  deniedTokenRequests?: string[];
  /**
   * Operations that fail on every call, and how (the failure matrix of test/coverage-matrix.test.ts).
   * A key is an API key (`eks:ListPodIdentityAssociations`, `k8s:<cluster>:pods`) or an AWS API key
   * narrowed to one resource with `@`: an account id (the caller's, or the target of sts:AssumeRole),
   * a region, a cluster name (EKS calls on one cluster), a role name (IAM calls on one role) or a
   * managed policy's ARN or name (iam:GetPolicy and iam:GetPolicyVersion of that policy).
   */
  failures?: Record<string, FailureMode>;
}

/**
 * How an operation fails: `denied` (403, the service's access-denied error), `html-404` (404 with
 * an HTML page, as an endpoint that does not implement the operation answers), `server-error`
 * (500 on every attempt), `malformed` (200 with a body cut off halfway), `silent` (the request is
 * read and never answered).
 */
export type FailureMode = 'denied' | 'html-404' | 'server-error' | 'malformed' | 'silent';

export type InjectedFault = 'throttle' | 'server-error';

/** Identifies an emulated cluster for the cluster-name fault lists. */
export interface ClusterRef {
  readonly accountId: string;
  readonly region: string;
  readonly name: string;
}

function matchesCluster(list: readonly string[] | undefined, cluster: ClusterRef): boolean {
  if (!list) return false;
  const qualified = `${cluster.accountId}/${cluster.region}/${cluster.name}`;
  return list.includes(cluster.name) || list.includes(qualified);
}

/** The emulator's faults and counters; `keys` lets a Kubernetes key also match its qualified form. */
export class FaultState {
  private faults: FaultOptions = {};
  private readonly faultCalls = new Map<string, number>();
  private readonly continueCalls = new Map<string, number>();
  private counts = new Map<string, number>();
  private handshakes = new Map<string, number>();

  /**
   * @param privateAsInSnapshot not a fault, and kept across set(): clusters whose snapshot says
   * `endpointPublicAccess: false` are private as EKS would report them (default: every emulated
   * endpoint is public, since all listen on loopback). The local pipeline sets it, so that its
   * network auditors (shared/pipeline/routing.ts) have the private clusters to audit.
   */
  constructor(
    faults: FaultOptions = {},
    private readonly privateAsInSnapshot = false,
  ) {
    this.set(faults);
  }

  set(faults: FaultOptions): void {
    this.faults = structuredClone(faults);
    this.faultCalls.clear();
    this.continueCalls.clear();
  }

  get latencyMs(): number {
    return Math.max(0, this.faults.latencyMs ?? 0);
  }

  count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  requestCounts(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  /** A TLS handshake with a cluster's API server: `full`, or `resumed` from an earlier session. */
  countHandshake(cluster: string, kind: 'full' | 'resumed'): void {
    const key = `${cluster}:${kind}`;
    this.handshakes.set(key, (this.handshakes.get(key) ?? 0) + 1);
  }

  handshakeCounts(): Record<string, number> {
    return Object.fromEntries([...this.handshakes].sort(([a], [b]) => a.localeCompare(b)));
  }

  resetCounts(): void {
    this.counts = new Map();
    this.handshakes = new Map();
  }

  /** The first configured value among `keys` (a key and its aliases) in `table`. */
  private configured(table: Record<string, number> | undefined, keys: readonly string[]): string | undefined {
    if (!table) return undefined;
    return keys.find((key) => (table[key] ?? 0) > 0);
  }

  /**
   * Decides the fault of one call of the operation `keys[0]` (`keys` also lists aliases, e.g. the
   * account-qualified Kubernetes key): the first `throttle` calls are throttled, the next
   * `serverErrors` calls fail with a server error, later calls pass.
   */
  decide(keys: readonly string[]): InjectedFault | undefined {
    const throttleKey = this.configured(this.faults.throttle, keys);
    const errorKey = this.configured(this.faults.serverErrors, keys);
    if (!throttleKey && !errorKey) return undefined;
    const counterKey = throttleKey ?? errorKey ?? '';
    const call = this.faultCalls.get(counterKey) ?? 0;
    this.faultCalls.set(counterKey, call + 1);
    const throttled = throttleKey ? (this.faults.throttle?.[throttleKey] ?? 0) : 0;
    const failing = errorKey ? (this.faults.serverErrors?.[errorKey] ?? 0) : 0;
    if (call < throttled) return 'throttle';
    if (call < throttled + failing) return 'server-error';
    return undefined;
  }

  /** Whether this request, which carries a continue token, gets 410 Gone. */
  expireContinue(keys: readonly string[]): boolean {
    const key = this.configured(this.faults.expireContinue, keys);
    if (!key) return false;
    const call = this.continueCalls.get(key) ?? 0;
    this.continueCalls.set(key, call + 1);
    return call < (this.faults.expireContinue?.[key] ?? 0);
  }

  /** Whether this list page's last item is misshapen (misshapenLists). */
  isMisshapenList(keys: readonly string[]): boolean {
    return keys.some((key) => this.faults.misshapenLists?.includes(key));
  }

  /** Whether this list page is sent cut off (malformedLists). */
  isMalformedList(keys: readonly string[]): boolean {
    return keys.some((key) => this.faults.malformedLists?.includes(key));
  }

  /** The size of each list page of this operation, when it is one of the hugePages. */
  hugePageBytes(keys: readonly string[]): number | undefined {
    return this.firstOf(this.faults.hugePages, keys);
  }

  /** How many items each list page of this operation has, when it is one of the oversizedPages. */
  oversizedPageItems(keys: readonly string[]): number | undefined {
    return this.firstOf(this.faults.oversizedPages, keys);
  }

  isEndlessContinue(keys: readonly string[]): boolean {
    return keys.some((key) => this.faults.endlessContinue?.includes(key));
  }

  isLoopingContinue(keys: readonly string[]): boolean {
    return keys.some((key) => this.faults.loopingContinue?.includes(key));
  }

  /** How the cluster trickles its list pages, or undefined when it does not (tricklingClusters). */
  trickleOf(cluster: ClusterRef): { bytes: number; everyMs: number } | undefined {
    if (!matchesCluster(this.faults.tricklingClusters, cluster)) return undefined;
    return {
      bytes: Math.max(1, this.faults.trickle?.bytes ?? 64),
      everyMs: Math.max(0, this.faults.trickle?.everyMs ?? 50),
    };
  }

  private firstOf(table: Record<string, number> | undefined, keys: readonly string[]): number | undefined {
    const key = this.configured(table, keys);
    return key === undefined ? undefined : table?.[key];
  }

  /** The failure mode configured for the first of `keys` (an operation's key and its narrowed forms). */
  failureOf(keys: readonly string[]): FailureMode | undefined {
    const failures = this.faults.failures;
    if (!failures) return undefined;
    for (const key of keys) {
      const mode = failures[key];
      if (mode) return mode;
    }
    return undefined;
  }

  isUnreachable(cluster: ClusterRef): boolean {
    return matchesCluster(this.faults.unreachableClusters, cluster);
  }

  isForbidden(cluster: ClusterRef): boolean {
    return matchesCluster(this.faults.forbiddenClusters, cluster);
  }

  isSilent(cluster: ClusterRef): boolean {
    return matchesCluster(this.faults.silentClusters, cluster);
  }

  isStalled(cluster: ClusterRef): boolean {
    return matchesCluster(this.faults.stalledClusters, cluster);
  }

  /** The public access CIDRs configured for the cluster, if any. */
  publicAccessCidrs(cluster: ClusterRef): string[] | undefined {
    const table = this.faults.publicAccessCidrs ?? {};
    return table[cluster.name] ?? table[`${cluster.accountId}/${cluster.region}/${cluster.name}`];
  }

  /** Whether the snapshot's endpoint access is honoured (privateAsInSnapshot). */
  followsSnapshotEndpoints(): boolean {
    return this.privateAsInSnapshot;
  }

  isPrivate(cluster: ClusterRef): boolean {
    return matchesCluster(this.faults.privateClusters, cluster);
  }

  deniesTokenRequests(cluster: ClusterRef): boolean {
    return matchesCluster(this.faults.deniedTokenRequests, cluster);
  }

  isDenied(accountId: string): boolean {
    return this.faults.deniedAccounts?.includes(accountId) ?? false;
  }
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
