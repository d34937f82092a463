/**
 * Night 2 of the demo, as seed 001's story goes: on one cluster the pod identity webhook's
 * caBundle is replaced (the API server can no longer call the webhook; failurePolicy Ignore lets
 * pods through unmutated), and the pods created after that come up without AWS_ROLE_ARN and
 * AWS_WEB_IDENTITY_TOKEN_FILE: they silently fall back to the node's role.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { base64 } from '#shared/testing/fleet-builder.ts';
import { EXPIRED_CA_PEM } from '#shared/testing/test-certificates.ts';

export const STORY_CLUSTER = { accountId: '210987654321', region: 'eu-west-1', cluster: 'payments' } as const;
const WEBHOOK = 'pod-identity-webhook';

interface Item {
  kind: string;
  metadata: { name: string; namespace?: string; creationTimestamp?: string; [key: string]: unknown };
  spec?: {
    containers?: { env?: { name: string; value?: string }[]; volumeMounts?: { name: string }[] }[];
    volumes?: { name: string }[];
  };
  webhooks?: { name: string; clientConfig?: { caBundle?: string } }[];
  [key: string]: unknown;
}

/** Copies `fromDir` to `toDir` and applies the story to STORY_CLUSTER; pods restart at `restartAt`. */
export async function writeNight2Fleet(fromDir: string, toDir: string, restartAt: string): Promise<string[]> {
  await cp(fromDir, toDir, { recursive: true });
  const file = join(
    toDir,
    STORY_CLUSTER.accountId,
    STORY_CLUSTER.region,
    STORY_CLUSTER.cluster,
    'kubernetes.json',
  );
  const list = JSON.parse(await readFile(file, 'utf8')) as { items: Item[] };
  const changed: string[] = [];
  for (const item of list.items) {
    if (item.kind === 'MutatingWebhookConfiguration' && item.metadata.name === WEBHOOK) {
      for (const webhook of item.webhooks ?? []) {
        if (webhook.clientConfig) webhook.clientConfig.caBundle = base64(EXPIRED_CA_PEM);
      }
      changed.push(`MutatingWebhookConfiguration/${WEBHOOK}: caBundle replaced`);
    }
  }
  // A rollout after the change: the ledger-writer pods are recreated, and nothing mutates them.
  for (const item of list.items) {
    if (item.kind !== 'Pod' || !item.metadata.name.startsWith('ledger-writer-')) continue;
    item.metadata.name = `${item.metadata.name.slice(0, -5)}n2${item.metadata.name.slice(-3)}`;
    item.metadata.creationTimestamp = restartAt;
    for (const container of item.spec?.containers ?? []) {
      container.env = container.env?.filter((e) => !e.name.startsWith('AWS_'));
      container.volumeMounts = container.volumeMounts?.filter((m) => m.name !== 'aws-iam-token');
    }
    if (item.spec?.volumes) item.spec.volumes = item.spec.volumes.filter((v) => v.name !== 'aws-iam-token');
    changed.push(`Pod/${item.metadata.namespace}/${item.metadata.name}: recreated without IRSA credentials`);
  }
  await writeFile(file, `${JSON.stringify(list, null, 2)}\n`);
  return changed;
}
