/**
 * The member stack: the read-only audit role of one audited account. Its trust admits only the
 * hub's auditor role, with the ExternalId (and aws:PrincipalOrgID when an organization id is
 * given); its one inline policy grants exactly the read actions of MEMBER_PERMISSIONS
 * (shared/aws/audit-permissions.ts), which the collectors' tests check against the calls they make.
 *
 * Two forms: with parameters (HubAuditorRoleArn, ExternalId, OrganizationId, RoleName) and no
 * assets, no bootstrap rule and no metadata, a template a service-managed StackSet can roll out to
 * every account of an organization (infra/bin/member.ts); or with fixed values, for the hub
 * account's own audit from the hub app.
 */
import {
  Aws,
  CfnCondition,
  CfnOutput,
  CfnParameter,
  DefaultStackSynthesizer,
  Fn,
  Stack,
  type StackProps,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { MEMBER_PERMISSIONS } from '#shared/aws/audit-permissions.ts';

/** A fixed configuration (no parameters). */
export interface MemberRoleValues {
  readonly hubAuditorRoleArn: string;
  readonly externalId: string;
  readonly organizationId?: string;
  readonly roleName: string;
}

export interface MemberStackProps extends StackProps {
  /** Fixed values; absent: CloudFormation parameters (the StackSet form). */
  readonly values?: MemberRoleValues;
}

/** The member role's name when none is given (AUDIT_ROLE_NAME of the hub). */
export const DEFAULT_MEMBER_ROLE_NAME = 'irsa-auditor';

/** The read-only policy: MEMBER_PERMISSIONS grouped by resource, placeholders resolved. */
export function memberAuditPolicy(): iam.PolicyDocument {
  const byResource = new Map<string, string[]>();
  for (const permission of MEMBER_PERMISSIONS) {
    if (!permission.granted) continue;
    const actions = byResource.get(permission.resource) ?? [];
    actions.push(permission.action);
    byResource.set(permission.resource, actions);
  }
  const resolveResource = (pattern: string) =>
    pattern === '*'
      ? '*'
      : pattern.replaceAll('{Partition}', Aws.PARTITION).replaceAll('{Account}', Aws.ACCOUNT_ID);
  let n = 0;
  return new iam.PolicyDocument({
    statements: [...byResource].map(
      ([resource, actions]) =>
        new iam.PolicyStatement({
          sid: `AuditRead${++n}`,
          actions: actions.sort(),
          resources: [resolveResource(resource)],
        }),
    ),
  });
}

function trustPolicy(principalArn: string, externalId: string, organizationId: string | undefined) {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'HubAuditorOnly',
        Effect: 'Allow',
        Principal: { AWS: principalArn },
        Action: 'sts:AssumeRole',
        Condition: {
          StringEquals: {
            'sts:ExternalId': externalId,
            ...(organizationId ? { 'aws:PrincipalOrgID': organizationId } : {}),
          },
        },
      },
    ],
  };
}

export class MemberStack extends Stack {
  readonly role: iam.CfnRole;

  constructor(scope: Construct, id: string, props: MemberStackProps = {}) {
    super(scope, id, {
      description: 'irsa-audit member: the read-only audit role the hub auditor assumes',
      // A StackSet template: no bootstrap version rule (member accounts are not bootstrapped).
      synthesizer: new DefaultStackSynthesizer({ generateBootstrapVersionRule: false }),
      analyticsReporting: false,
      ...props,
    });
    let roleName: string;
    let trust: unknown;
    if (props.values) {
      const v = props.values;
      roleName = v.roleName;
      trust = trustPolicy(v.hubAuditorRoleArn, v.externalId, v.organizationId);
    } else {
      const hubRole = new CfnParameter(this, 'HubAuditorRoleArn', {
        type: 'String',
        description:
          "The hub auditor function's role, e.g. arn:aws:iam::111122223333:role/irsa-audit-hub-auditor",
        allowedPattern: '^arn:aws[a-z-]*:iam::\\d{12}:role/[\\w+=,.@/-]+$',
        constraintDescription: 'an IAM role ARN',
      });
      const externalId = new CfnParameter(this, 'ExternalId', {
        type: 'String',
        noEcho: true,
        description: 'The ExternalId the hub passes to sts:AssumeRole (the hub config key externalId)',
        minLength: 2,
        maxLength: 1224,
        allowedPattern: '^[\\w+=,.@:/-]+$',
      });
      const organizationId = new CfnParameter(this, 'OrganizationId', {
        type: 'String',
        default: '',
        description: 'Optional: the organization id (o-...); the trust then also requires aws:PrincipalOrgID',
        allowedPattern: '^(o-[a-z0-9]{10,32})?$',
      });
      const name = new CfnParameter(this, 'RoleName', {
        type: 'String',
        default: DEFAULT_MEMBER_ROLE_NAME,
        description: "The audit role's name (the hub config key auditRoleName)",
        allowedPattern: '^[\\w+=,.@-]{1,64}$',
      });
      const hasOrganization = new CfnCondition(this, 'HasOrganizationId', {
        expression: Fn.conditionNot(Fn.conditionEquals(organizationId.valueAsString, '')),
      });
      roleName = name.valueAsString;
      trust = Fn.conditionIf(
        hasOrganization.logicalId,
        trustPolicy(hubRole.valueAsString, externalId.valueAsString, organizationId.valueAsString),
        trustPolicy(hubRole.valueAsString, externalId.valueAsString, undefined),
      );
    }
    this.role = new iam.CfnRole(this, 'AuditRole', {
      roleName,
      description: 'irsa-audit: read-only IAM, EKS and Account metadata for the hub auditor',
      assumeRolePolicyDocument: trust,
      maxSessionDuration: 3600,
      policies: [{ policyName: 'irsa-audit-read-only', policyDocument: memberAuditPolicy() }],
    });
    new CfnOutput(this, 'AuditRoleArn', { value: this.role.attrArn });
  }
}
