/**
 * The permission documents of the sample fleets' policies (IRSA-023), as their teams wrote them: a
 * customer-managed policy's versions (the last one the default) and a role's inline policies, by
 * policy name. Every document here grants what it names, except the one the story is about
 * (`notebooks-s3-workspace`, seed 002's mistake: `s3:ListBucket` granted on the objects only), and
 * one older, non-default version that had the same mistake before it was fixed
 * (`settlement-s3-export` v1: only the default version counts).
 */
type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type Statement = { [key: string]: Json };

const document = (...statements: Statement[]) => ({ Version: '2012-10-17', Statement: statements });
const allow = (sid: string, action: string | string[], resource: string | string[]): Statement => ({
  Sid: sid,
  Effect: 'Allow',
  Action: action,
  Resource: resource,
});

/** Read and list one bucket (and optionally write): both the bucket's and the objects' ARNs. */
function bucketAccess(bucket: string, write = false): Statement[] {
  return [
    allow('ListBucket', 's3:ListBucket', `arn:aws:s3:::${bucket}`),
    allow(
      write ? 'ReadWriteObjects' : 'ReadObjects',
      write ? ['s3:GetObject', 's3:PutObject', 's3:DeleteObject'] : 's3:GetObject',
      `arn:aws:s3:::${bucket}/*`,
    ),
  ];
}

function tableAccess(region: string, accountId: string, table: string, actions: string[]): Statement {
  const arn = `arn:aws:dynamodb:${region}:${accountId}:table/${table}`;
  return allow('Table', actions, [arn, `${arn}/index/*`]);
}

/** A customer-managed policy's versions, oldest first; the last is the default. */
export const MANAGED_POLICY_VERSIONS: Readonly<Record<string, (accountId: string) => Json[]>> = {
  'ledger-writer-dynamodb': (a) => [
    // v1 before the ledger's index queries; v2 (the default) added UpdateItem and Query.
    document(tableAccess('eu-west-1', a, 'ledger', ['dynamodb:GetItem', 'dynamodb:PutItem'])),
    document(
      tableAccess('eu-west-1', a, 'ledger', [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:Query',
      ]),
    ),
  ],
  'settlement-s3-export': () => [
    // v1 granted ListBucket on the objects only; v2 (the default) fixed it.
    document(allow('Export', ['s3:ListBucket', 's3:PutObject'], 'arn:aws:s3:::acme-settlement-exports/*')),
    document(...bucketAccess('acme-settlement-exports', true)),
  ],
  'checkout-web-sessions': (a) => [
    document(
      tableAccess('eu-west-1', a, 'checkout-sessions', [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:DeleteItem',
      ]),
    ),
  ],
  'cart-api-dynamodb': (a) => [
    document(
      tableAccess('eu-west-1', a, 'carts', [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'dynamodb:DeleteItem',
        'dynamodb:Query',
      ]),
    ),
  ],
  'receipts-s3': () => [document(...bucketAccess('acme-checkout-receipts', true))],
  'spark-s3-scratch': () => [document(...bucketAccess('acme-batch-scratch', true))],
  'loader-v2-redshift': (a) => [
    document(
      allow(
        'Statements',
        'redshift-data:ExecuteStatement',
        `arn:aws:redshift:eu-west-1:${a}:cluster:analytics`,
      ),
      allow('Results', ['redshift-data:DescribeStatement', 'redshift-data:GetStatementResult'], '*'),
      allow('Credentials', 'redshift:GetClusterCredentials', [
        `arn:aws:redshift:eu-west-1:${a}:dbuser:analytics/loader`,
        `arn:aws:redshift:eu-west-1:${a}:dbname:analytics/warehouse`,
      ]),
    ),
  ],
  'exporter-cloudwatch': (a) => [
    document(
      allow('Metrics', 'cloudwatch:PutMetricData', '*'),
      allow(
        'Logs',
        ['logs:CreateLogStream', 'logs:PutLogEvents'],
        `arn:aws:logs:eu-west-1:${a}:log-group:/batch/exporter:*`,
      ),
    ),
  ],
  'reporter-s3-read': () => [document(...bucketAccess('acme-reports'))],
  'month-end-ledger-read': () => [document(...bucketAccess('acme-ledger-exports'))],
  'order-sync-sqs': (a) => [
    document(
      allow(
        'Consume',
        ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        `arn:aws:sqs:eu-west-1:${a}:order-sync`,
      ),
    ),
  ],
  'order-api-sqs': (a) => [
    document(
      allow('Produce', ['sqs:SendMessage', 'sqs:GetQueueUrl'], `arn:aws:sqs:eu-west-1:${a}:order-sync`),
    ),
  ],
  // Seed 002's walkthrough, as it ends: the bucket and its objects.
  'ml-s3-reader-bucket': () => [
    document(
      allow(
        'ReadBucket',
        ['s3:ListBucket', 's3:GetObject'],
        ['arn:aws:s3:::my-test-bucket', 'arn:aws:s3:::my-test-bucket/*'],
      ),
    ),
  ],
  // The story: written before the walkthrough was read, ListBucket on the objects only.
  'notebooks-s3-workspace': () => [
    document(
      allow(
        'Workspace',
        ['s3:ListBucket', 's3:GetObject', 's3:PutObject'],
        'arn:aws:s3:::acme-ml-notebooks/*',
      ),
    ),
  ],
  'feature-store-dynamodb': (a) => [
    document(
      tableAccess('us-east-1', a, 'feature-store', [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:Query',
      ]),
    ),
  ],
  'data-lake-read': () => [document(...bucketAccess('acme-data-lake'))],
  // examples/cross-account-fleet.
  'argo-artifacts-s3': () => [document(...bucketAccess('acme-argo-artifacts', true))],
  'order-events-sns': (a) => [
    document(allow('Publish', 'sns:Publish', `arn:aws:sns:eu-west-1:${a}:order-events`)),
  ],
  'orders-archive-s3': () => [document(...bucketAccess('acme-orders-archive', true))],
  'ledger-lake-write': () => [document(...bucketAccess('acme-ledger-lake', true))],
  'report-exports-s3': () => [document(...bucketAccess('acme-report-exports', true))],
  'dashboards-athena': (a) => [
    document(
      allow(
        'Queries',
        ['athena:StartQueryExecution', 'athena:GetQueryExecution', 'athena:GetQueryResults'],
        `arn:aws:athena:eu-west-1:${a}:workgroup/dashboards`,
      ),
      ...bucketAccess('acme-athena-results', true),
    ),
  ],
  'notebooks-lake-read': () => [document(...bucketAccess('acme-data-lake'))],
  'batch-queue-write': (a) => [
    document(allow('Send', ['sqs:SendMessage', 'sqs:GetQueueUrl'], `arn:aws:sqs:eu-west-1:${a}:batch-*`)),
  ],
  'feature-store-read': (a) => [
    document(
      tableAccess('eu-west-1', a, 'features', [
        'dynamodb:GetItem',
        'dynamodb:BatchGetItem',
        'dynamodb:Query',
      ]),
    ),
  ],
  'training-data-read': () => [document(...bucketAccess('acme-training-data'))],
};

/** Inline policies by name. */
export const INLINE_POLICIES: Readonly<Record<string, (accountId: string) => Json>> = {
  'ledger-kms-encrypt': (a) =>
    document(
      allow(
        'Encrypt',
        ['kms:Encrypt', 'kms:GenerateDataKey'],
        `arn:aws:kms:eu-west-1:${a}:key/6f1d8e0c-2b4a-4c7e-9a51-3d2f7b8c9e01`,
      ),
    ),
};
