/**
 * The hub app, built in one function so that `cdk synth` (infra/bin/app.ts) and the tests
 * (test/infra.test.ts) synthesize exactly the same thing: the stateful and stateless stacks, the
 * hub's own member stack when configured, cdk-nag on all of them, and the recommended feature flags.
 */
import { Annotations, App, type AppProps, Aws, Tags } from 'aws-cdk-lib';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import {
  configFromContext,
  EXAMPLE_EXTERNAL_ID,
  type HubConfig,
  type HubConfigInput,
  parseHubConfig,
} from '../config.ts';
import { MemberStack } from './member-stack.ts';
import { acknowledgeHub, acknowledgeMember, addNagChecks } from './nag.ts';
import { StatefulStack } from './stateful-stack.ts';
import { StatelessStack } from './stateless-stack.ts';

export const STACK_NAMES = {
  stateful: 'IrsaAuditHubStateful',
  stateless: 'IrsaAuditHubStateless',
  hubMember: 'IrsaAuditHubMember',
} as const;

export interface HubAppOptions extends Pick<AppProps, 'outdir'> {
  /** The configuration object; default: read from the context (cdk.json `irsaAudit`). */
  readonly config?: HubConfigInput;
  /** Extra context (what `cdk synth -c key=value` gives). */
  readonly context?: Record<string, unknown>;
  /** Make the cdk-nag acknowledgements (default true; false shows every finding they cover). */
  readonly acknowledge?: boolean;
}

export interface HubApp {
  readonly app: App;
  readonly config: HubConfig;
  readonly stateful: StatefulStack;
  readonly stateless: StatelessStack;
  readonly member?: MemberStack;
}

export function buildHubApp(options: HubAppOptions = {}): HubApp {
  const app = new App({
    ...(options.outdir ? { outdir: options.outdir } : {}),
    context: { ...CURRENTLY_RECOMMENDED_FLAGS, ...options.context },
  });
  const config = options.config
    ? parseHubConfig(options.config, 'the given configuration')
    : configFromContext((key) => app.node.tryGetContext(key));
  const env = config.env.account || config.env.region ? { env: { ...config.env } } : {};
  Tags.of(app).add('project', 'irsa-audit');

  const stateful = new StatefulStack(app, STACK_NAMES.stateful, {
    ...env,
    config,
    description: 'irsa-audit hub: finding table, alerts topic, notification key (retained data)',
    terminationProtection: true,
  });
  const stateless = new StatelessStack(app, STACK_NAMES.stateless, {
    ...env,
    config,
    key: stateful.key,
    description: 'irsa-audit hub: functions, schedule, queues, query API, alarms and dashboard',
  });
  stateless.addStackDependency(stateful, 'the table and the alerts topic, named by configuration');
  if (config.externalId === EXAMPLE_EXTERNAL_ID) {
    Annotations.of(stateless).addWarningV2(
      'irsa-audit:example-external-id',
      'externalId is still the example value of cdk.json: set your own (openssl rand -hex 16) before deploying',
    );
  }
  if (options.acknowledge !== false) acknowledgeHub(stateless, config);

  let member: MemberStack | undefined;
  if (config.memberStackInHub) {
    member = new MemberStack(app, STACK_NAMES.hubMember, {
      ...env,
      values: {
        hubAuditorRoleArn: `arn:${Aws.PARTITION}:iam::${Aws.ACCOUNT_ID}:role/${config.hubAuditorRoleName}`,
        externalId: config.externalId,
        roleName: config.auditRoleName,
        ...(config.organizationId ? { organizationId: config.organizationId } : {}),
      },
    });
    // IAM checks that a trust policy's principal exists: the auditor role first.
    member.addStackDependency(stateless, "the member role's trust names the auditor function's role");
    if (options.acknowledge !== false) acknowledgeMember(member.role);
  }
  addNagChecks(app);
  return { app, config, stateful, stateless, ...(member ? { member } : {}) };
}
