/**
 * `npm run demo`: the nightly pipeline end to end on this machine, no AWS account needed.
 *
 *   npm run demo                                   # the repo's sample fleet, night 2 = seed 001's story
 *   npm run demo -- --night1 DIR --night2 DIR      # your own two snapshots
 *   npm run demo -- --out FILE                     # where the published SNS messages go (JSON)
 *
 * dynalite (DynamoDB) and the emulator (STS, IAM, EKS, Organizations, SNS, SQS, and one
 * Kubernetes API per cluster) start in this process; night 1 is the baseline, night 2 shows the
 * regression alert SNS carries, the digest, and `irsa-audit history`.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import pc from 'picocolors';
import { startDynalite } from '#shared/testing/dynalite.ts';
import { runHistoryCommand } from '../cli/commands/history.ts';
import type { PublishedSnsMessage } from '../emulator/index.ts';
import { type NightResult, startLocalPipeline } from './local-pipeline.ts';
import { STORY_CLUSTER, writeNight2Fleet } from './seed-001-story.ts';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// The two nights: last night and the one before, at the top of the current minute.
const NIGHT2 = new Date(Math.floor(Date.now() / 60_000) * 60_000).toISOString();
const NIGHT1 = new Date(Date.parse(NIGHT2) - 86_400_000).toISOString();
const STORY_TIME = new Date(Date.parse(NIGHT2) - 12 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');

const program = new Command('npm run demo')
  .description('Runs two nights of the IRSA audit pipeline locally (dynalite + the emulator).')
  .option('--night1 <dir>', 'fleet snapshot for night 1', join(repo, 'examples/fleet'))
  .option('--night2 <dir>', "fleet snapshot for night 2 (default: night 1 with seed 001's story applied)")
  .option(
    '--out <file>',
    'write the published SNS messages here (JSON)',
    join(repo, 'demo-output/sns-messages.json'),
  )
  .option('--no-color', 'plain output');

const options = program.parse().opts<{ night1: string; night2?: string; out: string; color: boolean }>();
const useColor = options.color && process.stdout.isTTY === true;
const color = pc.createColors(useColor);
const say = (text = '') => process.stdout.write(`${text}\n`);
const heading = (text: string) => say(`\n${color.bold(color.cyan(`== ${text}`))}`);

/** What email subscribers read: the text of a MessageStructure=json message. */
function emailText(message: PublishedSnsMessage): string {
  if (message.structure !== 'json') return message.message;
  const structure = JSON.parse(message.message) as Record<string, string>;
  return structure.email ?? structure.default ?? message.message;
}

function showNight(label: string, night: NightResult, started: number): void {
  say(
    `${label}: run ${night.runId}, ${night.accountsPlanned} accounts planned, ${night.invocations} auditor invocation(s), ` +
      `${night.failedRecords} failed record(s), ${night.deadLetters} on the DLQ, ${night.published.length} SNS message(s), ` +
      `${Math.round(performance.now() - started)} ms`,
  );
  for (const message of night.published) {
    const attributes = Object.entries(message.attributes)
      .map(([k, v]) => `${k}=${v.StringValue ?? ''}`)
      .join(' ');
    say(color.dim(`  published: "${message.subject ?? ''}"  [${attributes}]`));
  }
}

async function main(): Promise<void> {
  const started = performance.now();
  const work = await mkdtemp(join(tmpdir(), 'irsa-audit-demo-'));
  const night2Dir = options.night2 ?? join(work, 'night2');
  const dynamo = await startDynalite();
  try {
    heading('Night 1: the baseline');
    say(`fleet: ${options.night1}`);
    say(
      'dynalite (DynamoDB) and the emulator (AWS APIs + a Kubernetes API per cluster) started in this process.',
    );
    let t = performance.now();
    const first = await startLocalPipeline({ fleetDir: options.night1, dynamo });
    const night1 = await first.runNight(NIGHT1);
    showNight('night 1', night1, t);
    const published = [...night1.published];
    await first.stop();

    heading("Between the nights: seed 001's story");
    if (options.night2) {
      say(`fleet: ${options.night2}`);
    } else {
      const changes = await writeNight2Fleet(options.night1, night2Dir, STORY_TIME);
      say(`on ${STORY_CLUSTER.accountId}/${STORY_CLUSTER.region}/${STORY_CLUSTER.cluster}:`);
      for (const change of changes) say(`  - ${change}`);
    }

    heading('Night 2');
    t = performance.now();
    const second = await startLocalPipeline({ fleetDir: night2Dir, dynamo });
    const night2 = await second.runNight(NIGHT2);
    showNight('night 2', night2, t);
    published.push(...night2.published);
    await second.stop();

    for (const message of night2.published.filter(
      (m) => m.attributes.eventType?.StringValue === 'regression',
    )) {
      heading(`The regression alert (what email subscribers read): ${message.subject ?? ''}`);
      say(emailText(message));
    }
    for (const message of night2.published.filter((m) => m.attributes.eventType?.StringValue === 'digest')) {
      heading(`The nightly digest: ${message.subject ?? ''}`);
      say(emailText(message));
    }

    const cluster = `${STORY_CLUSTER.accountId}/${STORY_CLUSTER.region}/${STORY_CLUSTER.cluster}`;
    const io = {
      stdout: (text: string) => void process.stdout.write(text),
      stderr: (text: string) => void process.stderr.write(text),
      client: dynamo.client,
    };
    const env = { TABLE_NAME: dynamo.tableName };
    if (!options.night2) {
      heading(`irsa-audit history --cluster ${cluster}`);
      await runHistoryCommand({ cluster, table: env.TABLE_NAME, color: useColor }, io);
      heading(`irsa-audit history --cluster ${cluster} --at ${NIGHT1.slice(0, 10)}`);
      await runHistoryCommand({ cluster, at: NIGHT1, table: env.TABLE_NAME, color: useColor }, io);
    }
    heading('irsa-audit history --runs 5');
    await runHistoryCommand({ runs: 5, table: env.TABLE_NAME, color: useColor }, io);

    await mkdir(dirname(resolve(options.out)), { recursive: true });
    await writeFile(resolve(options.out), `${JSON.stringify(published, null, 2)}\n`);
    heading('Done');
    say(`${published.length} SNS messages written to ${resolve(options.out)}`);
    say(`demo finished in ${(Math.round(performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await dynamo.stop();
    await rm(work, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
