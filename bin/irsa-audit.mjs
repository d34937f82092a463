#!/usr/bin/env node
// The `irsa-audit` command. An installed package runs the built JavaScript (dist/cli.mjs, made by
// `npm run build`; the package ships no TypeScript). A clone of the repository runs the TypeScript
// sources through tsx, so what runs is always the code as edited, with no build step (the tests
// run it so); IRSA_AUDIT_DIST=1 runs the build there instead.
import { existsSync } from 'node:fs';

const fromSources =
  existsSync(new URL('../cli/main.ts', import.meta.url)) && process.env.IRSA_AUDIT_DIST !== '1';
if (fromSources) {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../cli/main.ts');
} else {
  await import('../dist/cli.mjs');
}
