/**
 * Interop: the permission documents (IRSA-023) collected from moto, an IAM not written here. Two
 * IRSA roles share a customer-managed policy whose default version is its second, one also has an
 * inline policy and an AWS-managed policy; an EC2 role has a policy too. The collector runs as the
 * pipeline's auditor does (`rolePolicies: 'web-identity'`: moto's clusters have no reachable
 * Kubernetes API, so no ServiceAccount names a role) and must write exactly moto's documents; the
 * EC2 role's policy names only (a possible node role, IRSA-061).
 */
import {
  AttachRolePolicyCommand,
  CreatePolicyVersionCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  IAMClient,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectFleet } from '#shared/collectors/collect-fleet.ts';
import type { IamSnapshot } from '#shared/collectors/iam.ts';
import { FAKE_CREDENTIALS, MOTO_DEFAULT_ACCOUNT, MOTO_SKIP_REASON, type Moto, startMoto } from './moto.ts';
import { callerAccount, EC2_TRUST, irsaTrust, type MotoAccount, providerArn } from './seed.ts';

const ISSUER = 'oidc.eks.us-east-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF';
const WIDER = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: 'arn:aws:s3:::reports/*' },
  ],
};

describe.skipIf(MOTO_SKIP_REASON !== null)(
  `policy documents collected from moto${MOTO_SKIP_REASON ? ` (skipped: ${MOTO_SKIP_REASON})` : ''}`,
  () => {
    let moto: Moto;
    let account: MotoAccount;
    let iam: IAMClient;
    let written: IamSnapshot;
    let errors: unknown[];
    let sharedArn = '';
    const savedEnv = { ...process.env };

    beforeAll(async () => {
      // moto knows the AWS-managed policies only when asked to load them (moto_server inherits it).
      process.env.MOTO_IAM_LOAD_MANAGED_POLICIES = 'true';
      moto = await startMoto();
      account = callerAccount(moto, MOTO_DEFAULT_ACCOUNT);
      iam = new IAMClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: FAKE_CREDENTIALS });
      const provider = await account.createProvider(`https://${ISSUER}`);
      expect(provider).toBe(providerArn(MOTO_DEFAULT_ACCOUNT, ISSUER));
      for (const name of ['reports-writer', 'reports-reader'])
        await account.createRole(name, irsaTrust(provider, { sub: `system:serviceaccount:reports:${name}` }));
      await account.createRole('build-host', EC2_TRUST);
      sharedArn = await account.attachPolicy('reports-writer', 'reports-s3');
      // Edited once: version 2 is the default, version 1 is not in force.
      await iam.send(
        new CreatePolicyVersionCommand({
          PolicyArn: sharedArn,
          PolicyDocument: JSON.stringify(WIDER),
          SetAsDefault: true,
        }),
      );
      await iam.send(new AttachRolePolicyCommand({ RoleName: 'reports-reader', PolicyArn: sharedArn }));
      await iam.send(
        new AttachRolePolicyCommand({
          RoleName: 'reports-writer',
          PolicyArn: 'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
        }),
      );
      await account.putInlinePolicy('reports-writer', 'reports-sqs');
      await account.attachPolicy('build-host', 'build-host-ecr');

      Object.assign(process.env, moto.env);
      const { files } = await collectFleet({
        accounts: { kind: 'current' },
        regions: ['us-east-1'],
        rolePolicies: 'web-identity',
      });
      written = JSON.parse(files.get(`${MOTO_DEFAULT_ACCOUNT}/iam.json`) ?? '{}');
      errors = JSON.parse(
        files.get(`${MOTO_DEFAULT_ACCOUNT}/collection-errors.json`) ?? '{"errors":[]}',
      ).errors;
    });

    afterAll(async () => {
      process.env = savedEnv;
      iam?.destroy();
      account?.destroy();
      await moto?.stop();
    });

    it('looks up the IRSA roles, and the EC2 role as a possible node role by its names only, without a collection error', () => {
      expect(errors).toEqual([]);
      // The pipeline reads the policy names of every role EC2 may assume (IRSA-061: a part's node
      // groups may name it), never their documents: build-host-ecr is not read (Policies, below).
      expect(Object.keys(written.RolePolicies).sort()).toEqual([
        'build-host',
        'reports-reader',
        'reports-writer',
      ]);
      expect(written.RolePolicies['build-host']?.AttachedPolicies.map((p) => p.PolicyName)).toEqual([
        'build-host-ecr',
      ]);
      expect(written.RolePolicies['build-host']?.RolePolicyList).toBeUndefined();
    });

    it('writes the inline document as moto answers GetRolePolicy', async () => {
      const writer = written.RolePolicies['reports-writer'];
      expect(writer?.PolicyNames).toEqual(['reports-sqs']);
      const answer = await iam.send(
        new GetRolePolicyCommand({ RoleName: 'reports-writer', PolicyName: 'reports-sqs' }),
      );
      expect(writer?.RolePolicyList).toEqual([
        { PolicyName: 'reports-sqs', PolicyDocument: answer.PolicyDocument },
      ]);
      expect(JSON.parse(decodeURIComponent(writer?.RolePolicyList?.[0]?.PolicyDocument ?? ''))).toMatchObject(
        {
          Statement: [{ Action: 'sqs:SendMessage' }],
        },
      );
      expect(written.RolePolicies['reports-reader']?.RolePolicyList).toEqual([]);
    });

    it('writes the shared customer-managed policy once, with its default version only; AWS-managed not read', async () => {
      expect(written.Policies.map((p) => p.Arn)).toEqual([sharedArn]);
      const [policy] = written.Policies;
      expect(policy?.DefaultVersionId).toBe('v2');
      expect(policy?.PolicyVersionList.map((v) => [v.VersionId, v.IsDefaultVersion])).toEqual([['v2', true]]);
      const { PolicyVersion } = await iam.send(
        new GetPolicyVersionCommand({ PolicyArn: sharedArn, VersionId: 'v2' }),
      );
      expect(policy?.PolicyVersionList[0]?.Document).toBe(PolicyVersion?.Document);
      expect(JSON.parse(decodeURIComponent(policy?.PolicyVersionList[0]?.Document ?? ''))).toEqual(WIDER);
      expect(written.RolePolicies['reports-writer']?.AttachedPolicies.map((p) => p.PolicyArn)).toContain(
        'arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess',
      );
    });
  },
);
