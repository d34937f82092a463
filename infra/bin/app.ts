/**
 * The hub app (cdk.json: `npx tsx infra/bin/app.ts`): stateful and stateless stacks, plus the hub's
 * own member stack when `memberStackInHub` is set. Configuration: the `irsaAudit` context block of
 * cdk.json, or `-c irsaAuditConfigFile=hub.json` (infra/config.ts documents every key).
 */
import { buildHubApp } from '../lib/hub-app.ts';

buildHubApp().app.synth();
