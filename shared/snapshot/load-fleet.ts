/**
 * Reads a fleet snapshot directory into the fleet model. A broken file never stops the load:
 * it becomes an input error (AUDIT-004) naming the file and field, and the rest is loaded.
 */

import { operationOf } from '../engine/coverage.ts';
import type { Account, Cluster, Fleet, InputError } from '../model/fleet.ts';
import { clusterNameProblem, regionProblem } from '../policy/aws-names.ts';
import {
  type Parsed,
  parseAddonsFile,
  parseClusterFile,
  parseCollectionErrorsFile,
  parseCollectionMarker,
  parseIamFile,
  parseKubernetesFile,
  parseNodegroupsFile,
  parsePodIdentityAssociationsFile,
  parseProbesFile,
} from './parse-files.ts';
import { COLLECTION_MARKER, directorySource, type SnapshotSource } from './snapshot-source.ts';

const ACCOUNT_DIR = /^\d{12}$/;

/** Raised when the fleet directory as a whole cannot be used (exit code 2 in the CLI). */
export class FleetDirectoryError extends Error {
  override readonly name = 'FleetDirectoryError';
}

export interface LoadProgress {
  readonly accountId: string;
  readonly region: string;
  readonly cluster: string;
  readonly loaded: number;
}

export interface LoadOptions {
  /** Called after each cluster is loaded (for progress output on long runs). */
  readonly onCluster?: (progress: LoadProgress) => void;
}

/** Loads the fleet snapshot at `fleet`: a directory path, or any {@link SnapshotSource}. */
export async function loadFleet(fleet: string | SnapshotSource, options: LoadOptions = {}): Promise<Fleet> {
  const source = typeof fleet === 'string' ? directorySource(fleet) : fleet;
  const fleetDir = source.description;
  if (!(await source.exists())) throw new FleetDirectoryError(`fleet directory not found: ${fleetDir}`);
  const accountIds = (await source.listDirectories('')).filter((name) => ACCOUNT_DIR.test(name));
  if (accountIds.length === 0) {
    throw new FleetDirectoryError(
      `no account directories in ${fleetDir}: expected folders named by 12-digit AWS account ids (see docs/fleet-format.md)`,
    );
  }
  const inputErrors: InputError[] = [];
  const accounts: Account[] = [];
  let loaded = 0;

  /**
   * Reads and parses one file; a problem is recorded as an input error and yields undefined.
   * A missing file yields 'absent' without an error when it may be missing: optional files, and
   * files the collector could not write because the API failed (collection-errors.json says so).
   */
  async function load<T>(
    relative: string,
    where: Pick<InputError, 'accountId' | 'region' | 'cluster'>,
    parse: (text: string) => Parsed<T>,
    mayBeMissing = false,
  ): Promise<T | undefined | 'absent'> {
    const read = await source.readText(relative);
    if (!read.ok) {
      if (read.missing && mayBeMissing) return 'absent';
      inputErrors.push({ ...where, file: relative, field: null, message: read.message });
      return undefined;
    }
    const parsed = parse(read.text);
    if (parsed.ok) return parsed.value;
    inputErrors.push({ ...where, file: relative, ...parsed.problem });
    return undefined;
  }

  // A snapshot whose collection never finished (interrupted, or failed) lacks whatever it had not
  // reached, which would otherwise go unreported: an input error says so (AUDIT-004, exit 2).
  const fleetWhere = { accountId: null, region: null, cluster: null };
  const marker = await load(COLLECTION_MARKER, fleetWhere, parseCollectionMarker, true);
  if (marker !== undefined && marker !== 'absent' && marker.status !== 'complete') {
    inputErrors.push({
      ...fleetWhere,
      file: COLLECTION_MARKER,
      field: 'status',
      message: `the collection that wrote this snapshot${marker.startedAt ? ` (started ${marker.startedAt})` : ''} did not finish (${marker.status === 'collecting' ? 'it was interrupted or failed' : `status ${marker.status}`}): an account or cluster it had not reached is missing from it, not audited; collect again`,
    });
  }

  const errorsOf = async (folder: string, where: Pick<InputError, 'accountId' | 'region' | 'cluster'>) => {
    const errors = await load(`${folder}/collection-errors.json`, where, parseCollectionErrorsFile, true);
    return errors === undefined || errors === 'absent' ? [] : errors;
  };

  for (const accountId of accountIds) {
    const accountWhere = { accountId, region: null, cluster: null };
    const accountErrors = await errorsOf(accountId, accountWhere);
    const iam = await load(
      `${accountId}/iam.json`,
      accountWhere,
      (text) => parseIamFile(text, accountId),
      accountErrors.length > 0,
    );
    // Folder names become regions and clusters in findings and fix commands: a name that AWS would
    // never give is an input error naming the folder, and nothing under it is read.
    const misnamed = (folder: string, problem: string | null): boolean => {
      if (problem === null) return false;
      inputErrors.push({
        accountId,
        region: null,
        cluster: null,
        file: folder,
        field: null,
        message: `folder name: ${problem}`,
      });
      return true;
    };
    const regions = (await source.listDirectories(accountId)).filter(
      (region) => !misnamed(`${accountId}/${region}`, regionProblem(region)),
    );
    const clusters: Cluster[] = [];
    for (const region of regions) {
      const names = (await source.listDirectories(`${accountId}/${region}`)).filter(
        (name) => !misnamed(`${accountId}/${region}/${name}`, clusterNameProblem(name)),
      );
      for (const name of names) {
        const base = `${accountId}/${region}/${name}`;
        const where = { accountId, region, cluster: name };
        const clusterErrors = await errorsOf(base, where);
        // A cluster that was listed but could not be described has only its collection-errors.json.
        const describeFailed = clusterErrors.some((e) => operationOf(e.api) === 'eks:DescribeCluster');
        const info = await load(`${base}/cluster.json`, where, parseClusterFile, describeFailed);
        // A Kubernetes API that could not be read at all (AUDIT-002) leaves no kubernetes.json.
        const apiFailed =
          describeFailed || clusterErrors.some((e) => !e.kind && operationOf(e.api).startsWith('k8s'));
        const kubernetes = await load(`${base}/kubernetes.json`, where, parseKubernetesFile, apiFailed);
        const associations = await load(
          `${base}/pod-identity-associations.json`,
          where,
          parsePodIdentityAssociationsFile,
          true,
        );
        // Absent (an older snapshot, or ListAddons failed): PODID-004 is not evaluated, never failed.
        const addons = await load(`${base}/addons.json`, where, parseAddonsFile, true);
        // Absent (an older snapshot, or ListNodegroups failed): IRSA-060/061 are not evaluated, never failed.
        const nodeGroups = await load(`${base}/nodegroups.json`, where, parseNodegroupsFile, true);
        // Written only by `collect --probe`: absent means the cluster was not probed (IRSA-040 not evaluated).
        const probes = await load(`${base}/probes.json`, where, parseProbesFile, true);
        clusters.push({
          accountId,
          region,
          name,
          info: info === undefined || info === 'absent' ? null : info,
          kubernetes: kubernetes === undefined || kubernetes === 'absent' ? null : kubernetes,
          podIdentityAssociations: associations === 'absent' ? [] : (associations ?? null),
          addons: addons === undefined || addons === 'absent' ? null : addons,
          nodeGroups: nodeGroups === undefined || nodeGroups === 'absent' ? null : nodeGroups,
          collectionErrors: clusterErrors,
          probes: probes === undefined || probes === 'absent' ? null : probes,
        });
        options.onCluster?.({ accountId, region, cluster: name, loaded: ++loaded });
      }
    }
    accounts.push({
      accountId,
      iam: iam === undefined || iam === 'absent' ? null : iam,
      regions,
      clusters,
      collectionErrors: accountErrors,
    });
  }
  return { accounts, inputErrors };
}
