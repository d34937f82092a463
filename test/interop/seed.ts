/**
 * Seeds moto through the real AWS SDK clients, as an operator (or Terraform) would create the
 * resources: an Organization, the accounts' IAM (roles with IRSA trust policies, OIDC providers,
 * policies) and EKS clusters. Another account is reached as moto allows: sts:AssumeRole into it
 * returns credentials that moto maps to that account.
 */
import { CreateLaunchTemplateCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  CreateNodegroupCommand,
  DescribeClusterCommand,
  EKSClient,
} from '@aws-sdk/client-eks';
import {
  AttachRolePolicyCommand,
  CreateOpenIDConnectProviderCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  IAMClient,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import pLimit from 'p-limit';
import { FAKE_CREDENTIALS, type Moto } from './moto.ts';

export const AUDIT_ROLE = 'irsa-auditor';

/** SDK clients of one account in moto. */
export class MotoAccount {
  readonly iam: IAMClient;
  private readonly eksByRegion = new Map<string, EKSClient>();

  constructor(
    readonly moto: Moto,
    readonly accountId: string,
    readonly credentials: AwsCredentialIdentity,
  ) {
    this.iam = new IAMClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials });
  }

  eks(region: string): EKSClient {
    let client = this.eksByRegion.get(region);
    if (!client) {
      client = new EKSClient({ endpoint: this.moto.endpoint, region, credentials: this.credentials });
      this.eksByRegion.set(region, client);
    }
    return client;
  }

  /** Another account, through sts:AssumeRole (moto does not require the role to exist). */
  async assumeInto(accountId: string): Promise<MotoAccount> {
    const sts = new STSClient({
      endpoint: this.moto.endpoint,
      region: 'us-east-1',
      credentials: this.credentials,
    });
    const { Credentials: c } = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${accountId}:role/${AUDIT_ROLE}`,
        RoleSessionName: 'seed',
      }),
    );
    sts.destroy();
    if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`moto: no credentials for ${accountId}`);
    return new MotoAccount(this.moto, accountId, {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
    });
  }

  /** Creates a cluster and returns DescribeCluster's answer (its OIDC issuer as moto made it). */
  async createCluster(
    region: string,
    name: string,
    extra: { version?: string; tags?: Record<string, string> } = {},
  ): Promise<Record<string, unknown>> {
    await this.eks(region).send(
      new CreateClusterCommand({
        name,
        roleArn: `arn:aws:iam::${this.accountId}:role/eks-cluster-${name}`,
        resourcesVpcConfig: {
          subnetIds: [`subnet-${name}a`, `subnet-${name}b`],
          securityGroupIds: [`sg-${name}`],
          endpointPublicAccess: true,
          endpointPrivateAccess: false,
        },
        ...(extra.version ? { version: extra.version } : {}),
        ...(extra.tags ? { tags: extra.tags } : {}),
      }),
    );
    const { cluster } = await this.eks(region).send(new DescribeClusterCommand({ name }));
    if (!cluster) throw new Error(`moto: DescribeCluster ${name} answered no cluster`);
    return cluster as Record<string, unknown>;
  }

  /**
   * A launch template with these metadata options, and a managed node group of `cluster` on its
   * version 1 with node role `nodeRole` (IRSA-060/061). Returns the template id.
   */
  async createNodegroup(
    region: string,
    cluster: string,
    name: string,
    nodeRole: string,
    metadata: { HttpTokens: 'optional' | 'required'; HttpPutResponseHopLimit: number },
  ): Promise<string> {
    const ec2 = new EC2Client({ endpoint: this.moto.endpoint, region, credentials: this.credentials });
    try {
      const { LaunchTemplate } = await ec2.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: `${cluster}-${name}`,
          LaunchTemplateData: { MetadataOptions: { ...metadata, HttpEndpoint: 'enabled' } },
        }),
      );
      const id = LaunchTemplate?.LaunchTemplateId ?? '';
      await this.eks(region).send(
        new CreateNodegroupCommand({
          clusterName: cluster,
          nodegroupName: name,
          nodeRole: `arn:aws:iam::${this.accountId}:role/${nodeRole}`,
          subnets: [`subnet-${cluster}a`],
          launchTemplate: { id, version: '1' },
        }),
      );
      return id;
    } finally {
      ec2.destroy();
    }
  }

  /** An IAM OIDC provider for an issuer (`https://...`); returns its ARN. */
  async createProvider(issuer: string, clientIds = ['sts.amazonaws.com']): Promise<string> {
    const { OpenIDConnectProviderArn } = await this.iam.send(
      new CreateOpenIDConnectProviderCommand({
        Url: issuer,
        ClientIDList: clientIds,
        ThumbprintList: ['9e99a48a9960b14926bb7f3b02e22da2b0ab7280'],
      }),
    );
    return OpenIDConnectProviderArn ?? '';
  }

  async createRole(name: string, trust: unknown, path = '/'): Promise<void> {
    await this.iam.send(
      new CreateRoleCommand({ RoleName: name, Path: path, AssumeRolePolicyDocument: JSON.stringify(trust) }),
    );
  }

  async setTrust(name: string, trust: unknown): Promise<void> {
    await this.iam.send(
      new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: JSON.stringify(trust) }),
    );
  }

  async attachPolicy(roleName: string, policyName: string): Promise<string> {
    const { Policy } = await this.iam.send(
      new CreatePolicyCommand({
        PolicyName: policyName,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: '*' }],
        }),
      }),
    );
    const arn = Policy?.Arn ?? '';
    await this.iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn }));
    return arn;
  }

  async putInlinePolicy(roleName: string, policyName: string): Promise<void> {
    await this.iam.send(
      new PutRolePolicyCommand({
        RoleName: roleName,
        PolicyName: policyName,
        PolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: '*' }],
        }),
      }),
    );
  }

  destroy(): void {
    this.iam.destroy();
    for (const client of this.eksByRegion.values()) client.destroy();
  }
}

/** The caller: moto's default account. */
export function callerAccount(moto: Moto, accountId: string): MotoAccount {
  return new MotoAccount(moto, accountId, FAKE_CREDENTIALS);
}

/** Creates the Organization (the caller is its management account) and one member account; returns its id. */
export async function createOrganization(moto: Moto, memberName: string): Promise<string> {
  const org = new OrganizationsClient({
    endpoint: moto.endpoint,
    region: 'us-east-1',
    credentials: FAKE_CREDENTIALS,
  });
  await org.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const { CreateAccountStatus } = await org.send(
    new CreateAccountCommand({ AccountName: memberName, Email: `${memberName}@example.com` }),
  );
  org.destroy();
  const id = CreateAccountStatus?.AccountId;
  if (!id) throw new Error('moto: CreateAccount answered no account id');
  return id;
}

/** The OIDC issuer of a cluster, as DescribeCluster answered it. */
export function issuerOf(cluster: Record<string, unknown>): string {
  const issuer = (cluster as { identity?: { oidc?: { issuer?: string } } }).identity?.oidc?.issuer;
  if (!issuer) throw new Error('the cluster has no OIDC issuer');
  return issuer;
}

/** The IAM provider ARN of an issuer in an account. */
export function providerArn(accountId: string, issuer: string): string {
  return `arn:aws:iam::${accountId}:oidc-provider/${issuer.replace(/^https:\/\//, '')}`;
}

/** An IRSA trust policy: the provider, the action, and `:sub`/`:aud` conditions as given. */
export function irsaTrust(
  provider: string,
  conditions: { sub?: string; aud?: string; subOperator?: 'StringEquals' | 'StringLike'; keyIssuer?: string },
): unknown {
  const issuer = conditions.keyIssuer ?? provider.split(':oidc-provider/')[1] ?? '';
  const equals: Record<string, string> = {};
  const like: Record<string, string> = {};
  if (conditions.sub !== undefined) {
    (conditions.subOperator === 'StringLike' ? like : equals)[`${issuer}:sub`] = conditions.sub;
  }
  if (conditions.aud !== undefined) equals[`${issuer}:aud`] = conditions.aud;
  const condition: Record<string, Record<string, string>> = {};
  if (Object.keys(equals).length) condition.StringEquals = equals;
  if (Object.keys(like).length) condition.StringLike = like;
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: provider },
        Action: 'sts:AssumeRoleWithWebIdentity',
        ...(Object.keys(condition).length ? { Condition: condition } : {}),
      },
    ],
  };
}

/** A trust policy that is not IRSA (an EC2 instance role). */
export const EC2_TRUST = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};

/** `count` plain roles (`filler-0000`, ...), `concurrency` CreateRole calls at a time. */
export async function createFillerRoles(
  account: MotoAccount,
  count: number,
  concurrency = 16,
): Promise<string[]> {
  const limit = pLimit(concurrency);
  const names = Array.from({ length: count }, (_, i) => `filler-${String(i).padStart(4, '0')}`);
  await Promise.all(names.map((name) => limit(() => account.createRole(name, EC2_TRUST, '/filler/'))));
  return names;
}
