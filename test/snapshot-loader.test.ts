import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Cluster, Fleet } from '#shared/model/fleet.ts';
import { FleetDirectoryError, loadFleet } from '#shared/snapshot/load-fleet.ts';

const SEED = fileURLToPath(new URL('./fixtures/fleets/seed-stories', import.meta.url));
const ACCOUNT = '111122223333';
const REGION = 'us-west-2';
const IAM = `${ACCOUNT}/iam.json`;
const clusterFile = (cluster: string, file: string) => `${ACCOUNT}/${REGION}/${cluster}/${file}`;

const temporary: string[] = [];
afterEach(async () => {
  await Promise.all(temporary.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'irsa-fleet-'));
  temporary.push(dir);
  return dir;
}

/** The fixture files are read-only in the repository; the copies must be editable. */
async function makeWritable(path: string): Promise<void> {
  await chmod(path, 0o755);
  for (const entry of await readdir(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) await makeWritable(child);
    else await chmod(child, 0o644);
  }
}

/** A writable copy of the seed-stories fleet. */
async function seedCopy(): Promise<string> {
  const dir = await tempDir();
  await cp(SEED, dir, { recursive: true });
  await makeWritable(dir);
  return dir;
}

type Json = Record<string, unknown> & {
  items?: Record<string, unknown>[];
  Roles?: Record<string, unknown>[];
};

async function editJson(dir: string, file: string, edit: (json: Json) => void): Promise<void> {
  const json = JSON.parse(await readFile(join(dir, file), 'utf8')) as Json;
  edit(json);
  await writeFile(join(dir, file), JSON.stringify(json));
}

function clusterOf(fleet: Fleet, name: string): Cluster {
  const cluster = fleet.accounts.flatMap((a) => a.clusters).find((c) => c.name === name);
  if (!cluster) throw new Error(`cluster ${name} not loaded`);
  return cluster;
}

function itemIndex(json: Json, kind: string): number {
  const index = (json.items ?? []).findIndex((item) => item.kind === kind);
  if (index < 0) throw new Error(`no ${kind} item`);
  return index;
}

describe('loadFleet', () => {
  it('loads the seed stories without input errors', async () => {
    const fleet = await loadFleet(SEED);
    expect(fleet.inputErrors).toEqual([]);
    expect(fleet.accounts.map((a) => a.accountId)).toEqual([ACCOUNT]);
    expect(fleet.accounts[0]?.regions).toEqual([REGION]);
    expect(fleet.accounts[0]?.clusters.map((c) => c.name)).toEqual(['analytics', 'sandbox', 'storefront']);
    for (const cluster of fleet.accounts[0]?.clusters ?? []) {
      expect(cluster.info?.issuer).toMatch(/^https:\/\/oidc\.eks\.us-west-2\.amazonaws\.com\/id\//);
      expect(cluster.kubernetes?.pods?.length).toBeGreaterThan(0);
      expect(cluster.kubernetes?.webhookConfigurations).not.toBeNull();
    }
  });

  it('reports a snapshot whose collection did not finish (collection.json), and loads what it has', async () => {
    const dir = await seedCopy();
    const complete = await loadFleet(dir);
    const marked = async (text: string) => {
      await writeFile(join(dir, 'collection.json'), text);
      return loadFleet(dir);
    };
    // A collection that ended: nothing to say. Absent (a snapshot written by hand): nothing either.
    expect((await marked('{"status":"complete","startedAt":"2026-12-07T19:00:00Z"}')).inputErrors).toEqual(
      [],
    );
    const interrupted = await marked('{"status":"collecting","startedAt":"2026-12-07T19:00:00Z"}');
    expect(interrupted.inputErrors).toEqual([
      {
        accountId: null,
        region: null,
        cluster: null,
        file: 'collection.json',
        field: 'status',
        message: expect.stringMatching(
          /^the collection that wrote this snapshot \(started 2026-12-07T19:00:00Z\) did not finish \(it was interrupted or failed\): an account or cluster it had not reached is missing from it/,
        ),
      },
    ]);
    // The rest is loaded as it is.
    expect(interrupted.accounts).toEqual(complete.accounts);
    expect((await marked('not json')).inputErrors.map((e) => e.file)).toEqual(['collection.json']);
    expect((await marked('{"status":"failed"}')).inputErrors[0]?.message).toContain('(status failed)');
  });

  it('reports invalid JSON in iam.json, naming the file, and still loads the clusters', async () => {
    const dir = await seedCopy();
    await writeFile(join(dir, IAM), '{"Roles": [');
    const fleet = await loadFleet(dir);
    expect(fleet.inputErrors).toEqual([
      {
        accountId: ACCOUNT,
        region: null,
        cluster: null,
        file: IAM,
        field: null,
        message: expect.stringContaining('not valid JSON'),
      },
    ]);
    expect(fleet.accounts[0]?.iam).toBeNull();
    expect(fleet.accounts[0]?.clusters.map((c) => c.kubernetes === null)).toEqual([false, false, false]);
  });

  it('names the field of a role without RoleName', async () => {
    const dir = await seedCopy();
    await editJson(dir, IAM, (json) => {
      delete json.Roles?.[2]?.RoleName;
    });
    const fleet = await loadFleet(dir);
    expect(fleet.inputErrors).toHaveLength(1);
    expect(fleet.inputErrors[0]).toMatchObject({ accountId: ACCOUNT, file: IAM, field: 'Roles[2].RoleName' });
    expect(fleet.accounts[0]?.iam).toBeNull();
  });

  it('names the item of a Pod without metadata.name, and keeps the other clusters', async () => {
    const dir = await seedCopy();
    const file = clusterFile('storefront', 'kubernetes.json');
    let index = -1;
    await editJson(dir, file, (json) => {
      index = itemIndex(json, 'Pod');
      const metadata = json.items?.[index]?.metadata as Record<string, unknown> | undefined;
      if (metadata) delete metadata.name;
    });
    const fleet = await loadFleet(dir);
    expect(fleet.inputErrors).toEqual([
      {
        accountId: ACCOUNT,
        region: REGION,
        cluster: 'storefront',
        file,
        field: `items[${index}].metadata.name`,
        message: expect.any(String),
      },
    ]);
    expect(clusterOf(fleet, 'storefront').kubernetes).toBeNull();
    expect(clusterOf(fleet, 'storefront').info).not.toBeNull();
    expect(clusterOf(fleet, 'analytics').kubernetes).not.toBeNull();
  });

  it('reads valueFrom variables as null, and never keeps a credential a snapshot written by hand holds', async () => {
    const dir = await seedCopy();
    const file = clusterFile('storefront', 'kubernetes.json');
    let name = '';
    await editJson(dir, file, (json) => {
      const pod = json.items?.[itemIndex(json, 'Pod')] as {
        metadata: { name: string };
        spec: { containers: { env?: Record<string, unknown>[] }[] };
      };
      name = pod.metadata.name;
      const [container] = pod.spec.containers;
      if (!container) throw new Error('a pod without containers');
      container.env = [
        ...(container.env ?? []),
        { name: 'AWS_ACCESS_KEY_ID', value: 'AKIAEXAMPLEHANDWRITTEN' },
        { name: 'AWS_SECRET_ACCESS_KEY', valueFrom: { secretKeyRef: { name: 'aws', key: 'secret' } } },
        { name: 'AWS_SESSION_TOKEN', value: '<redacted>' },
        { name: 'AWS_REGION', valueFrom: { fieldRef: { fieldPath: 'metadata.annotations' } } },
      ];
    });
    const fleet = await loadFleet(dir);
    expect(fleet.inputErrors).toEqual([]);
    const pod = clusterOf(fleet, 'storefront').kubernetes?.pods?.find((p) => p.name === name);
    const env = pod?.containers[0]?.env;
    expect(env?.get('AWS_ACCESS_KEY_ID')).toBe('<redacted>');
    expect(env?.get('AWS_SECRET_ACCESS_KEY')).toBeNull();
    expect(env?.get('AWS_SESSION_TOKEN')).toBe('<redacted>');
    expect(env?.get('AWS_REGION')).toBeNull();
    expect(JSON.stringify([...(env ?? [])])).not.toContain('AKIAEXAMPLE');
  });

  it('reports a missing kubernetes.json for that file and loads the other clusters', async () => {
    const dir = await seedCopy();
    await rm(join(dir, clusterFile('sandbox', 'kubernetes.json')));
    const fleet = await loadFleet(dir);
    expect(fleet.inputErrors).toEqual([
      {
        accountId: ACCOUNT,
        region: REGION,
        cluster: 'sandbox',
        file: clusterFile('sandbox', 'kubernetes.json'),
        field: null,
        message: 'the file is missing',
      },
    ]);
    expect(clusterOf(fleet, 'sandbox').kubernetes).toBeNull();
    expect(clusterOf(fleet, 'sandbox').info?.name).toBe('sandbox');
    expect(clusterOf(fleet, 'analytics').kubernetes).not.toBeNull();
    expect(clusterOf(fleet, 'storefront').kubernetes).not.toBeNull();
  });

  it('reports a missing cluster.json and iam.json as input errors', async () => {
    const dir = await seedCopy();
    await rm(join(dir, clusterFile('analytics', 'cluster.json')));
    await rm(join(dir, IAM));
    const fleet = await loadFleet(dir);
    expect(fleet.inputErrors.map((e) => [e.file, e.message])).toEqual([
      [IAM, 'the file is missing'],
      [clusterFile('analytics', 'cluster.json'), 'the file is missing'],
    ]);
    expect(clusterOf(fleet, 'analytics').info).toBeNull();
    expect(clusterOf(fleet, 'analytics').kubernetes).not.toBeNull();
  });

  describe('pod-identity-associations.json', () => {
    it('means no associations when absent, without an error', async () => {
      const fleet = await loadFleet(SEED);
      expect(fleet.inputErrors).toEqual([]);
      expect(clusterOf(fleet, 'sandbox').podIdentityAssociations).toEqual([]);
    });

    it('is read when present', async () => {
      const dir = await seedCopy();
      const association = {
        namespace: 'ml-training',
        serviceAccount: 'trainer',
        roleArn: `arn:aws:iam::${ACCOUNT}:role/x`,
      };
      await writeFile(
        join(dir, clusterFile('sandbox', 'pod-identity-associations.json')),
        JSON.stringify({ associations: [association] }),
      );
      const fleet = await loadFleet(dir);
      expect(fleet.inputErrors).toEqual([]);
      expect(clusterOf(fleet, 'sandbox').podIdentityAssociations).toEqual([
        { ...association, associationArn: null },
      ]);
    });

    it.each([
      ['invalid JSON', '{"associations": [', null],
      [
        'an invalid field',
        JSON.stringify({ associations: [{ namespace: 'a' }] }),
        'associations[0].serviceAccount',
      ],
    ])('is null with an input error when it holds %s', async (_what, text, field) => {
      const dir = await seedCopy();
      const file = clusterFile('sandbox', 'pod-identity-associations.json');
      await writeFile(join(dir, file), text);
      const fleet = await loadFleet(dir);
      expect(fleet.inputErrors).toEqual([
        { accountId: ACCOUNT, region: REGION, cluster: 'sandbox', file, field, message: expect.any(String) },
      ]);
      expect(clusterOf(fleet, 'sandbox').podIdentityAssociations).toBeNull();
      expect(clusterOf(fleet, 'storefront').podIdentityAssociations).toEqual([]);
    });
  });

  describe('the collected field of kubernetes.json', () => {
    async function loadWith(collected: string[] | undefined, dropKind?: string) {
      const dir = await seedCopy();
      await editJson(dir, clusterFile('storefront', 'kubernetes.json'), (json) => {
        if (collected) json.collected = collected;
        if (dropKind) json.items = (json.items ?? []).filter((item) => item.kind !== dropKind);
      });
      const fleet = await loadFleet(dir);
      expect(fleet.inputErrors).toEqual([]);
      return clusterOf(fleet, 'storefront').kubernetes;
    }

    it('makes a kind neither listed nor present null', async () => {
      const kubernetes = await loadWith(['ServiceAccount', 'Pod'], 'MutatingWebhookConfiguration');
      expect(kubernetes?.webhookConfigurations).toBeNull();
      expect(kubernetes?.serviceAccounts?.length).toBeGreaterThan(0);
      expect(kubernetes?.pods?.length).toBeGreaterThan(0);
    });

    it('keeps a listed kind without items as an empty list', async () => {
      const kubernetes = await loadWith(
        ['ServiceAccount', 'Pod', 'MutatingWebhookConfiguration'],
        'MutatingWebhookConfiguration',
      );
      expect(kubernetes?.webhookConfigurations).toEqual([]);
    });

    it('counts a kind whose items are present as collected even when not listed', async () => {
      const kubernetes = await loadWith(['ServiceAccount']);
      expect(kubernetes?.pods?.length).toBeGreaterThan(0);
      expect(kubernetes?.webhookConfigurations?.length).toBeGreaterThan(0);
    });

    it('treats every kind as collected when the field is absent', async () => {
      const kubernetes = await loadWith(undefined, 'MutatingWebhookConfiguration');
      expect(kubernetes?.webhookConfigurations).toEqual([]);
    });
  });

  it('parses the three trust encodings (object, JSON string, URL-encoded) to the same policy', async () => {
    const dir = await seedCopy();
    await editJson(dir, IAM, (json) => {
      const roles = json.Roles ?? [];
      const original = roles.find((r) => r.RoleName === 'storefront-catalog-api');
      if (!original) throw new Error('role storefront-catalog-api not in the seed');
      const text = JSON.stringify(original.AssumeRolePolicyDocument, null, 2);
      roles.push({ ...original, RoleName: 'as-json', AssumeRolePolicyDocument: text });
      roles.push({ ...original, RoleName: 'as-url', AssumeRolePolicyDocument: encodeURIComponent(text) });
    });
    const fleet = await loadFleet(dir);
    expect(fleet.inputErrors).toEqual([]);
    const trust = (name: string) => fleet.accounts[0]?.iam?.roles.find((r) => r.name === name)?.trust;
    const object = trust('storefront-catalog-api');
    expect(object?.ok).toBe(true);
    expect(object && 'policy' in object ? object.policy.statements.length : 0).toBeGreaterThan(0);
    expect(trust('as-json')).toEqual(object);
    expect(trust('as-url')).toEqual(object);
  });

  it('keeps an unparseable trust as a role-level error, not a file error', async () => {
    const dir = await seedCopy();
    await editJson(dir, IAM, (json) => {
      const role = json.Roles?.[0];
      if (role) role.AssumeRolePolicyDocument = '%7B%22Version%22';
    });
    const fleet = await loadFleet(dir);
    expect(fleet.inputErrors).toEqual([]);
    expect(fleet.accounts[0]?.iam?.roles[0]?.trust.ok).toBe(false);
  });

  describe('the fleet directory', () => {
    it('throws FleetDirectoryError for a file', async () => {
      await expect(loadFleet(join(SEED, ACCOUNT, 'iam.json'))).rejects.toBeInstanceOf(FleetDirectoryError);
    });

    it('throws FleetDirectoryError for a path that does not exist', async () => {
      await expect(loadFleet(join(await tempDir(), 'nope'))).rejects.toBeInstanceOf(FleetDirectoryError);
    });

    it('throws FleetDirectoryError for an empty directory', async () => {
      await expect(loadFleet(await tempDir())).rejects.toBeInstanceOf(FleetDirectoryError);
    });

    it('throws FleetDirectoryError when no folder is a 12-digit account id', async () => {
      const dir = await tempDir();
      await mkdir(join(dir, 'notes'));
      await mkdir(join(dir, '12345'));
      await expect(loadFleet(dir)).rejects.toBeInstanceOf(FleetDirectoryError);
    });

    it('ignores folders that are not 12-digit account ids', async () => {
      const dir = await seedCopy();
      for (const name of ['notes', '12345', '1111222233334', 'abcdefghijkl']) {
        await mkdir(join(dir, name));
        await writeFile(join(dir, name, 'iam.json'), 'not json');
      }
      const fleet = await loadFleet(dir);
      expect(fleet.accounts.map((a) => a.accountId)).toEqual([ACCOUNT]);
      expect(fleet.inputErrors).toEqual([]);
    });
  });
});

describe('collection-errors.json (written by the live collector)', () => {
  it('explains a missing iam.json or kubernetes.json instead of reporting them as invalid input', async () => {
    const dir = await seedCopy();
    await rm(join(dir, IAM));
    await writeFile(
      join(dir, ACCOUNT, 'collection-errors.json'),
      JSON.stringify({ errors: [{ api: 'iam:ListRoles', code: 'AccessDenied', message: 'denied' }] }),
    );
    await rm(join(dir, clusterFile('sandbox', 'kubernetes.json')));
    await writeFile(
      join(dir, clusterFile('sandbox', 'collection-errors.json')),
      JSON.stringify({ errors: [{ api: 'k8s:serviceaccounts', code: 'Unauthorized', message: 'HTTP 401' }] }),
    );
    const fleet = await loadFleet(dir);
    expect(fleet.inputErrors).toEqual([]);
    expect(fleet.accounts[0]?.iam).toBeNull();
    expect(fleet.accounts[0]?.collectionErrors).toEqual([
      { api: 'iam:ListRoles', code: 'AccessDenied', message: 'denied', kind: null },
    ]);
    expect(clusterOf(fleet, 'sandbox').kubernetes).toBeNull();
    expect(clusterOf(fleet, 'sandbox').collectionErrors[0]?.code).toBe('Unauthorized');
  });

  it('still reports a missing kubernetes.json when only one list was denied', async () => {
    const dir = await seedCopy();
    await rm(join(dir, clusterFile('sandbox', 'kubernetes.json')));
    await writeFile(
      join(dir, clusterFile('sandbox', 'collection-errors.json')),
      JSON.stringify({
        errors: [{ api: 'k8s:pods', code: 'Forbidden', message: 'HTTP 403', kind: 'Pod' }],
      }),
    );
    const fleet = await loadFleet(dir);
    expect(fleet.inputErrors.map((e) => e.file)).toEqual([clusterFile('sandbox', 'kubernetes.json')]);
  });

  it('reports an invalid collection-errors.json as invalid input, naming the field', async () => {
    const dir = await seedCopy();
    await writeFile(join(dir, ACCOUNT, 'collection-errors.json'), JSON.stringify({ errors: [{ api: 'x' }] }));
    const fleet = await loadFleet(dir);
    expect(fleet.inputErrors).toMatchObject([
      { file: `${ACCOUNT}/collection-errors.json`, field: 'errors[0].code' },
    ]);
  });

  it('reports an operation name too long to be one, which every result it leaves unread would repeat', async () => {
    // Found by test/fuzz-snapshot.test.ts: a 100,000-character api made an 84 MB report.
    const dir = await seedCopy();
    const error = { api: `iam:${'x'.repeat(100_000)}`, code: 'AccessDenied', message: 'denied' };
    await writeFile(join(dir, ACCOUNT, 'collection-errors.json'), JSON.stringify({ errors: [error] }));
    await writeFile(
      join(dir, clusterFile('sandbox', 'collection-errors.json')),
      JSON.stringify({
        errors: [{ api: 'k8s', code: 'ECONNREFUSED', message: 'refused', region: 'r'.repeat(257) }],
      }),
    );
    const fleet = await loadFleet(dir);
    expect(fleet.inputErrors).toMatchObject([
      {
        file: `${ACCOUNT}/collection-errors.json`,
        field: 'errors[0].api',
        message: expect.stringMatching(/256/),
      },
      { file: clusterFile('sandbox', 'collection-errors.json'), field: 'errors[0].region' },
    ]);
    expect(fleet.accounts[0]?.collectionErrors).toEqual([]);
  });
});
