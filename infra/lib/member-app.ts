/** The member app (infra/bin/member.ts), built here so the tests synthesize the same thing. */
import { App, type AppProps } from 'aws-cdk-lib';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import { MemberStack } from './member-stack.ts';
import { acknowledgeMember, addNagChecks } from './nag.ts';

export const MEMBER_STACK_NAME = 'IrsaAuditMember';

export interface MemberAppOptions extends Pick<AppProps, 'outdir'> {
  /** Make the cdk-nag acknowledgements (default true). */
  readonly acknowledge?: boolean;
}

export function buildMemberApp(options: MemberAppOptions = {}): { app: App; member: MemberStack } {
  const app = new App({
    ...(options.outdir ? { outdir: options.outdir } : {}),
    context: { ...CURRENTLY_RECOMMENDED_FLAGS },
  });
  const member = new MemberStack(app, MEMBER_STACK_NAME);
  if (options.acknowledge !== false) acknowledgeMember(member.role);
  addNagChecks(app);
  return { app, member };
}
