/**
 * The member app: the audit role's template for a service-managed StackSet, with parameters
 * (HubAuditorRoleArn, ExternalId, OrganizationId, RoleName), no assets and no bootstrap rule:
 *
 *   npx cdk synth --app 'npx tsx infra/bin/member.ts' --output cdk.out.member --quiet
 *   -> cdk.out.member/IrsaAuditMember.template.json
 */
import { buildMemberApp } from '../lib/member-app.ts';

buildMemberApp().app.synth();
