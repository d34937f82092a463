/**
 * `npm run build`: the CLI as JavaScript in dist/, so the published package needs no TypeScript
 * (and no tsx) at run time. esbuild bundles our own code (cli/, shared/, emulator/, demo/,
 * functions/) and leaves every npm package external: they are the package's dependencies,
 * resolved from node_modules at run time as from the sources (the IAM action catalogue's JSON
 * files are read from its installed package, shared/policy/iam-catalogue.ts).
 *
 * Code splitting keeps what a command loads on demand (the AWS SDK clients of the live commands,
 * the emulator, the local pipeline) in chunks of its own, so `irsa-audit checks` and
 * `irsa-audit check DIR` load none of it.
 *
 *   dist/cli.mjs                    the CLI (bin/irsa-audit.mjs loads it in an installed package)
 *   dist/page-decoder.worker.mjs    the decode worker, beside the pool that starts it by this name
 *   dist/collection.worker.mjs      the collection thread of collect and check --live, likewise
 *   dist/chunk-*.mjs                shared and on-demand code
 */
import { rm } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = resolve(ROOT, 'dist');

/** The oldest Node the package supports (package.json engines). */
const TARGET = 'node20';

await rm(OUT, { recursive: true, force: true });
const result = await build({
  absWorkingDir: ROOT,
  entryPoints: {
    cli: 'cli/main.ts',
    // page-decoder-pool.ts starts `./page-decoder.worker.mjs` relative to its own code, which
    // the build puts in dist/ too (chunks are not in a subfolder).
    'page-decoder.worker': 'shared/collectors/page-decoder-worker.ts',
    // collection-thread.ts starts `./collection.worker.mjs` relative to its own code, likewise.
    'collection.worker': 'cli/commands/collection-worker.ts',
  },
  outdir: OUT,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: TARGET,
  // Every npm package stays an import of the installed package (#shared/* is our own code).
  packages: 'external',
  legalComments: 'none',
  logLevel: 'warning',
  metafile: true,
});
const files = Object.keys(result.metafile.outputs);
process.stdout.write(`built ${files.length} files in ${relative(process.cwd(), OUT) || '.'}/\n`);
