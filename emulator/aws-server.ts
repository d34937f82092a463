/**
 * The AWS side of the emulator: one HTTP handler for STS and IAM (awsQuery), EC2 (the EC2 query
 * protocol: DescribeLaunchTemplateVersions), EKS and Account (restJson1) and Organizations (JSON
 * 1.1), on the wire exactly as the SDK v3 clients expect;
 * SNS (awsQuery, sns.ts), SQS (JSON 1.0, sqs.ts) and Security Hub (restJson1, security-hub.ts) keep
 * their state in memory.
 *
 * The service and region come from the SigV4 credential scope (`<key>/<date>/<region>/<service>/
 * aws4_request`), the caller's account from the access key id. Signatures are not verified.
 * sts:AssumeRoleWithWebIdentity comes unsigned (no scope): it is recognised by its Action and judged
 * on its web identity token alone (sts-web-identity.ts).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CredentialStore, IssuedCredentials } from './credentials.ts';
import { accessEntryRoute, EksAccessEntries, isAccessEntryOperation } from './eks-access.ts';
import { type FailureMode, type FaultState, sleep } from './faults.ts';
import type {
  FleetAccountFiles,
  FleetClusterFiles,
  FleetFiles,
  FleetManagedPolicy,
  JsonObject,
} from './fleet-files.ts';
import { SecurityHubError, SecurityHubState } from './security-hub.ts';
import { SnsState } from './sns.ts';
import { SqsState, sqsErrorReply } from './sqs.ts';
import { assumeRoleWithWebIdentity, OidcIssuers, unsignedWebIdentityParams } from './sts-web-identity.ts';

type Service = 'sts' | 'iam' | 'ec2' | 'eks' | 'organizations' | 'account' | 'sns' | 'sqs' | 'securityhub';
type Protocol = 'query' | 'ec2' | 'restJson' | 'json';

const PROTOCOL: Record<Service, Protocol> = {
  sts: 'query',
  iam: 'query',
  ec2: 'ec2',
  eks: 'restJson',
  account: 'restJson',
  organizations: 'json',
  sns: 'query',
  sqs: 'json',
  securityhub: 'restJson',
};
const XML_NAMESPACE: Partial<Record<Service, string>> = {
  sts: 'https://sts.amazonaws.com/doc/2011-06-15/',
  iam: 'https://iam.amazonaws.com/doc/2010-05-08/',
  ec2: 'http://ec2.amazonaws.com/doc/2016-11-15/',
  sns: 'http://sns.amazonaws.com/doc/2010-03-31/',
};
const ORGANIZATIONS_TARGET_PREFIX = 'AWSOrganizationsV20161128.';
const SQS_TARGET_PREFIX = 'AmazonSQS.';

/** Regions that an account must opt in to; the others are ENABLED_BY_DEFAULT. */
const OPT_IN_REGIONS = new Set([
  'af-south-1',
  'ap-east-1',
  'ap-east-2',
  'ap-south-2',
  'ap-southeast-3',
  'ap-southeast-4',
  'ap-southeast-5',
  'ap-southeast-6',
  'ap-southeast-7',
  'ca-west-1',
  'eu-central-2',
  'eu-south-1',
  'eu-south-2',
  'il-central-1',
  'me-central-1',
  'me-south-1',
  'mx-central-1',
]);

/** An API error, rendered in the protocol of the service that raised it. */
export class AwsApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: JsonObject = {},
  ) {
    super(message);
  }
}

/** What DescribeCluster says about an emulated cluster's API server. */
export interface ClusterAccess {
  readonly endpoint: string;
  readonly caPem: string;
}

export interface AwsContext {
  readonly fleet: FleetFiles;
  readonly managementAccountId: string;
  readonly credentials: CredentialStore;
  readonly faults: FaultState;
  readonly clusterAccess: (cluster: FleetClusterFiles) => ClusterAccess;
  /** EKS access entries, in memory (default: a new, empty store). */
  readonly accessEntries?: EksAccessEntries;
  /** The clusters' OIDC issuers that AssumeRoleWithWebIdentity verifies tokens with (default: none known). */
  readonly issuers?: OidcIssuers;
  /** SQS queues and SNS topics, in memory (default: new, empty ones). */
  readonly sqs?: SqsState;
  readonly sns?: SnsState;
  /** Security Hub's imported findings, in memory (default: a new, empty store). */
  readonly securityHub?: SecurityHubState;
}

interface AwsRequest {
  readonly method: string;
  readonly url: URL;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly service: Service;
  readonly region: string;
  /** Query-string parameters, plus the form body of an awsQuery POST. */
  readonly params: URLSearchParams;
  readonly operation: string;
}

interface AwsResponse {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  readonly headers?: Record<string, string>;
}

// ---- encoding helpers --------------------------------------------------------------------------

function escapeXml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Serialises a value as awsQuery XML: objects become elements, arrays `<member>` lists. */
function xml(name: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return `<${name}>${value.map((item) => xml('member', item)).join('')}</${name}>`;
  if (typeof value === 'object') {
    const inner = Object.entries(value as JsonObject)
      .map(([key, child]) => xml(key, child))
      .join('');
    return `<${name}>${inner}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** ISO 8601 as AWS XML APIs print it (`2025-06-02T18:03:12Z`); unparseable values unchanged. */
function isoTimestamp(value: unknown): unknown {
  if (typeof value !== 'string' && typeof value !== 'number') return value;
  const date = new Date(typeof value === 'number' ? value * 1000 : value);
  return Number.isNaN(date.getTime()) ? value : date.toISOString().replace('.000Z', 'Z');
}

/** Epoch seconds, as AWS JSON APIs send timestamps. */
function epochSeconds(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.getTime() / 1000;
}

/**
 * A trust policy as ListRoles/GetRole return it: URL-encoded JSON. The snapshot may hold the
 * API's encoded string, a JSON string (possibly broken), or the decoded object the CLI prints.
 */
export function encodePolicyDocument(document: unknown): string | undefined {
  if (document === undefined || document === null) return undefined;
  if (typeof document !== 'string') return encodeURIComponent(JSON.stringify(document));
  return document.trimStart().startsWith('{') ? encodeURIComponent(document) : document;
}

const PAGE_TOKEN_PREFIX = 'emu1.';

function pageToken(offset: number): string {
  return PAGE_TOKEN_PREFIX + Buffer.from(JSON.stringify({ offset }), 'utf8').toString('base64url');
}

/** One page of `items`; `token` is a token this emulator issued, `max` the page size. */
function page<T>(
  items: readonly T[],
  token: string | undefined | null,
  max: number,
  invalid: (message: string) => AwsApiError,
): { items: T[]; next: string | undefined } {
  let offset = 0;
  if (token) {
    try {
      if (!token.startsWith(PAGE_TOKEN_PREFIX)) throw new Error('foreign token');
      const decoded = JSON.parse(
        Buffer.from(token.slice(PAGE_TOKEN_PREFIX.length), 'base64url').toString('utf8'),
      );
      offset = Number(decoded.offset);
      if (!Number.isInteger(offset) || offset < 0) throw new Error('bad offset');
    } catch {
      throw invalid('The pagination token is not valid.');
    }
  }
  const slice = items.slice(offset, offset + max);
  const end = offset + slice.length;
  return { items: slice, next: end < items.length ? pageToken(end) : undefined };
}

function pageSize(
  raw: unknown,
  fallback: number,
  limit: number,
  name: string,
  invalid: (message: string) => AwsApiError,
): number {
  if (raw === undefined || raw === null || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > limit) {
    throw invalid(`${name} must be an integer between 1 and ${limit}.`);
  }
  return value;
}

// ---- request parsing ---------------------------------------------------------------------------

const DATE = /^\d{8}$/;
/** What ends a credential in an Authorization header. */
const CREDENTIAL_END = /[,\s]/;

/**
 * The key id, region and service of a SigV4 credential scope: `Credential=AKID/20260101/us-east-1/iam/aws4_request`
 * in an Authorization header (up to a comma or whitespace), or a presigned URL's X-Amz-Credential.
 * Split by hand: the expression it replaced was quadratic on a header of many `Credential=`.
 */
function parseCredentialScope(
  scope: string,
): { accessKeyId: string; region: string; service: string } | undefined {
  const [accessKeyId, date, region, service, terminator, ...rest] = scope.split('/');
  if (rest.length > 0 || terminator !== 'aws4_request' || !DATE.test(date ?? '')) return undefined;
  if (!accessKeyId || !region || !service) return undefined;
  return { accessKeyId, region, service };
}

/** The value after `Credential=` in an Authorization header, up to a comma or whitespace. */
function headerCredential(authorization: string): string | undefined {
  const at = authorization.indexOf('Credential=');
  if (at === -1) return undefined;
  const start = at + 'Credential='.length;
  let end = start;
  while (end < authorization.length && !CREDENTIAL_END.test(authorization[end] as string)) end++;
  return authorization.slice(start, end);
}

function credentialScope(
  headers: IncomingMessage['headers'],
  url: URL,
): { accessKeyId: string; region: string; service: string } | undefined {
  const fromHeader = headerCredential(headers.authorization ?? '');
  const scope = fromHeader === undefined ? undefined : parseCredentialScope(fromHeader);
  if (scope) return scope;
  const presigned = url.searchParams.get('X-Amz-Credential');
  return presigned ? parseCredentialScope(presigned) : undefined;
}

function isService(value: string): value is Service {
  return value in PROTOCOL;
}

/** The operation name (the part after `service:` in the API key). */
function operationOf(
  service: Service,
  method: string,
  url: URL,
  params: URLSearchParams,
  headers: IncomingMessage['headers'],
): string {
  switch (service) {
    case 'sts':
    case 'iam':
    case 'ec2':
    case 'sns':
      return params.get('Action') ?? 'Unknown';
    case 'sqs': {
      const target = String(headers['x-amz-target'] ?? '');
      return target.startsWith(SQS_TARGET_PREFIX) ? target.slice(SQS_TARGET_PREFIX.length) : 'Unknown';
    }
    case 'organizations': {
      const target = String(headers['x-amz-target'] ?? '');
      return target.startsWith(ORGANIZATIONS_TARGET_PREFIX)
        ? target.slice(ORGANIZATIONS_TARGET_PREFIX.length)
        : 'Unknown';
    }
    case 'account':
      return method === 'POST' && url.pathname === '/listRegions' ? 'ListRegions' : 'Unknown';
    case 'eks':
      return eksRoute(method, url)?.operation ?? 'Unknown';
    case 'securityhub':
      return method === 'POST' && url.pathname === '/findings/import' ? 'BatchImportFindings' : 'Unknown';
  }
}

interface EksRoute {
  readonly operation: string;
  readonly clusterName?: string;
  readonly associationId?: string;
  readonly principalArn?: string;
  readonly addonName?: string;
  readonly nodegroupName?: string;
}

function eksRoute(method: string, url: URL): EksRoute | undefined {
  const accessEntry = accessEntryRoute(method, url.pathname);
  if (accessEntry) return accessEntry;
  if (method !== 'GET') return undefined;
  const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] !== 'clusters') return undefined;
  if (parts.length === 1) return { operation: 'ListClusters' };
  const clusterName = parts[1];
  if (parts.length === 2) return { operation: 'DescribeCluster', clusterName };
  if (parts[2] === 'node-groups') {
    if (parts.length === 3) return { operation: 'ListNodegroups', clusterName };
    if (parts.length === 4) return { operation: 'DescribeNodegroup', clusterName, nodegroupName: parts[3] };
    return undefined;
  }
  if (parts[2] === 'addons') {
    if (parts.length === 3) return { operation: 'ListAddons', clusterName };
    if (parts.length === 4) return { operation: 'DescribeAddon', clusterName, addonName: parts[3] };
    return undefined;
  }
  if (parts[2] !== 'pod-identity-associations') return undefined;
  if (parts.length === 3) return { operation: 'ListPodIdentityAssociations', clusterName };
  if (parts.length === 4)
    return { operation: 'DescribePodIdentityAssociation', clusterName, associationId: parts[3] };
  return undefined;
}

// ---- responses ---------------------------------------------------------------------------------

function queryResult(service: Service, action: string, result: string, requestId: string): AwsResponse {
  const ns = XML_NAMESPACE[service] ?? '';
  return {
    status: 200,
    contentType: 'text/xml',
    body:
      `<${action}Response xmlns="${ns}"><${action}Result>${result}</${action}Result>` +
      `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
  };
}

function jsonResult(body: unknown, contentType = 'application/json'): AwsResponse {
  return { status: 200, contentType, body: JSON.stringify(body) };
}

function errorResponse(
  protocol: Protocol,
  service: Service,
  error: AwsApiError,
  requestId: string,
): AwsResponse {
  if (service === 'sqs') return sqsErrorReply(error.code, error.message, error.status);
  if (protocol === 'ec2') {
    // The EC2 query protocol's error document (no namespace, `Errors/Error`, `RequestID`).
    return {
      status: error.status,
      contentType: 'text/xml;charset=UTF-8',
      body:
        `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(error.code)}</Code>` +
        `<Message>${escapeXml(error.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
    };
  }
  if (protocol === 'query') {
    const type = error.status >= 500 ? 'Receiver' : 'Sender';
    const ns = XML_NAMESPACE[service] ?? '';
    return {
      status: error.status,
      contentType: 'text/xml',
      body:
        `<ErrorResponse xmlns="${ns}"><Error><Type>${type}</Type><Code>${escapeXml(error.code)}</Code>` +
        `<Message>${escapeXml(error.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    };
  }
  if (protocol === 'json') {
    return {
      status: error.status,
      contentType: 'application/x-amz-json-1.1',
      body: JSON.stringify({ __type: error.code, Message: error.message, ...error.fields }),
    };
  }
  return {
    status: error.status,
    contentType: 'application/json',
    headers: { 'x-amzn-errortype': error.code },
    body: JSON.stringify({ message: error.message, ...error.fields }),
  };
}

/** The throttling error each protocol's clients recognise (and retry). */
function throttlingError(service: Service): AwsApiError {
  if (service === 'sqs') return new AwsApiError(400, 'RequestThrottled', 'Request is throttled.');
  switch (PROTOCOL[service]) {
    case 'query':
      return new AwsApiError(400, 'Throttling', 'Rate exceeded');
    case 'ec2':
      return new AwsApiError(503, 'RequestLimitExceeded', 'Request limit exceeded.');
    case 'json':
      return new AwsApiError(
        400,
        'TooManyRequestsException',
        "AWS Organizations can't complete your request because another request is already in progress. Try again later.",
      );
    case 'restJson':
      return service === 'account'
        ? new AwsApiError(429, 'TooManyRequestsException', 'Rate exceeded')
        : new AwsApiError(429, 'ThrottlingException', 'Rate exceeded');
  }
}

/** A server-side failure, as each service models it. */
function serverError(service: Service): AwsApiError {
  switch (service) {
    case 'iam':
      return new AwsApiError(
        500,
        'ServiceFailure',
        'Request processing has failed because of an unknown error, exception or failure.',
      );
    case 'sts':
      return new AwsApiError(
        500,
        'InternalFailure',
        'The request processing has failed because of an unknown error, exception or failure.',
      );
    case 'ec2':
      return new AwsApiError(500, 'InternalError', 'An internal error has occurred.');
    case 'eks':
      return new AwsApiError(
        500,
        'ServerException',
        'These errors are usually caused by a server-side issue.',
      );
    case 'organizations':
      return new AwsApiError(
        500,
        'ServiceException',
        "AWS Organizations can't complete your request because of an internal service error. Try again later.",
      );
    case 'account':
      return new AwsApiError(
        500,
        'InternalServerException',
        'The operation failed because of an error internal to AWS. Try again later.',
      );
    case 'sns':
    case 'sqs':
      return new AwsApiError(500, 'InternalError', 'We encountered an internal error. Please try again.');
    case 'securityhub':
      return new AwsApiError(500, 'InternalException', 'Internal service failure.');
  }
}

function invalidParameter(service: Service): (message: string) => AwsApiError {
  switch (service) {
    case 'iam':
      return (message) => new AwsApiError(400, 'InvalidInput', message);
    case 'sts':
      return (message) => new AwsApiError(400, 'ValidationError', message);
    case 'ec2':
      return (message) => new AwsApiError(400, 'InvalidParameterValue', message);
    case 'eks':
      return (message) => new AwsApiError(400, 'InvalidParameterException', message);
    case 'organizations':
      return (message) => new AwsApiError(400, 'InvalidInputException', message, { Reason: 'INVALID_INPUT' });
    case 'account':
      return (message) => new AwsApiError(400, 'ValidationException', message);
    case 'sns':
      return (message) => new AwsApiError(400, 'InvalidParameter', message);
    case 'sqs':
      return (message) => new AwsApiError(400, 'InvalidParameterValue', message);
    case 'securityhub':
      return (message) => new AwsApiError(400, 'InvalidInputException', message);
  }
}

// ---- the handler -------------------------------------------------------------------------------

/** Creates the node:http request listener of the AWS endpoint. */
export function createAwsHandler(context: AwsContext): (req: IncomingMessage, res: ServerResponse) => void {
  const accounts = new Map(context.fleet.accounts.map((account) => [account.accountId, account]));
  const clustersByRegion = new Map<string, FleetClusterFiles[]>();
  for (const cluster of context.fleet.clusters) {
    const key = `${cluster.accountId}/${cluster.region}`;
    clustersByRegion.set(key, [...(clustersByRegion.get(key) ?? []), cluster]);
  }
  const orgAccountIds = [...new Set([context.managementAccountId, ...accounts.keys()])].sort();
  const accessEntries = context.accessEntries ?? new EksAccessEntries();
  const issuers = context.issuers ?? new OidcIssuers();
  const sqsState = context.sqs ?? new SqsState();
  const snsState = context.sns ?? new SnsState({ sqs: sqsState });
  const securityHubState = context.securityHub ?? new SecurityHubState();

  function authenticate(request: AwsRequest, accessKeyId: string): IssuedCredentials {
    const credentials = context.credentials.get(accessKeyId);
    const json = PROTOCOL[request.service] !== 'query';
    if (!credentials) {
      throw new AwsApiError(
        403,
        json ? 'UnrecognizedClientException' : 'InvalidClientTokenId',
        'The security token included in the request is invalid.',
      );
    }
    if (credentials.sessionToken !== undefined) {
      const token =
        request.headers['x-amz-security-token'] ?? request.url.searchParams.get('X-Amz-Security-Token');
      if (token !== credentials.sessionToken) {
        throw new AwsApiError(
          403,
          json ? 'UnrecognizedClientException' : 'InvalidClientTokenId',
          'The security token included in the request is invalid.',
        );
      }
    }
    if (credentials.expiration && credentials.expiration.getTime() <= Date.now()) {
      throw new AwsApiError(
        403,
        json ? 'ExpiredTokenException' : 'ExpiredToken',
        'The security token included in the request is expired',
      );
    }
    return credentials;
  }

  // ---- STS ----

  /** sts:AssumeRoleWithWebIdentity (sent unsigned by the SDK; see sts-web-identity.ts). */
  function webIdentity(params: URLSearchParams, requestId: string): AwsResponse {
    const outcome = assumeRoleWithWebIdentity(params, {
      accounts,
      issuers,
      issueSession: (...args) => context.credentials.issueSession(...args),
    });
    if (!outcome.ok) throw new AwsApiError(outcome.status, outcome.code, outcome.message);
    const { credentials: issued, subject, audience, provider } = outcome.result;
    const result =
      xml('Credentials', {
        AccessKeyId: issued.accessKeyId,
        SecretAccessKey: issued.secretAccessKey,
        SessionToken: issued.sessionToken,
        Expiration: isoTimestamp(issued.expiration?.toISOString()),
      }) +
      xml('SubjectFromWebIdentityToken', subject) +
      xml('AssumedRoleUser', { AssumedRoleId: issued.userId, Arn: issued.arn }) +
      xml('Provider', provider) +
      xml('Audience', audience);
    return queryResult('sts', 'AssumeRoleWithWebIdentity', result, requestId);
  }

  function sts(request: AwsRequest, caller: IssuedCredentials, requestId: string): AwsResponse {
    const { params } = request;
    if (request.operation === 'AssumeRoleWithWebIdentity') return webIdentity(params, requestId);
    if (request.operation === 'GetCallerIdentity') {
      return queryResult(
        'sts',
        'GetCallerIdentity',
        xml('UserId', caller.userId) + xml('Account', caller.accountId) + xml('Arn', caller.arn),
        requestId,
      );
    }
    if (request.operation !== 'AssumeRole') {
      throw new AwsApiError(
        400,
        'InvalidAction',
        `Could not find operation ${request.operation} for version 2011-06-15`,
      );
    }
    const roleArn = params.get('RoleArn') ?? '';
    const sessionName = params.get('RoleSessionName') ?? '';
    const match = /^arn:aws[a-z-]*:iam::(\d{12}):role\/(?:.*\/)?([\w+=,.@-]+)$/.exec(roleArn);
    if (!match) {
      throw new AwsApiError(
        400,
        'ValidationError',
        `1 validation error detected: Value '${roleArn}' at 'roleArn' failed to satisfy constraint: Member must be a valid role ARN`,
      );
    }
    if (!/^[\w+=,.@-]{2,64}$/.test(sessionName)) {
      throw new AwsApiError(
        400,
        'ValidationError',
        `1 validation error detected: Value '${sessionName}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*`,
      );
    }
    const [, accountId = '', roleName = ''] = match;
    const denied = () =>
      new AwsApiError(
        403,
        'AccessDenied',
        `User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${roleArn}`,
      );
    if (!orgAccountIds.includes(accountId) || context.faults.isDenied(accountId)) throw denied();
    const externalId = context.fleet.externalId;
    if (externalId !== undefined && params.get('ExternalId') !== externalId) throw denied();
    const duration = pageSize(
      params.get('DurationSeconds'),
      3600,
      43200,
      'DurationSeconds',
      invalidParameter('sts'),
    );
    const issued = context.credentials.issueSession(accountId, roleName, sessionName, duration);
    const result =
      xml('Credentials', {
        AccessKeyId: issued.accessKeyId,
        SecretAccessKey: issued.secretAccessKey,
        SessionToken: issued.sessionToken,
        Expiration: isoTimestamp(issued.expiration?.toISOString()),
      }) + xml('AssumedRoleUser', { AssumedRoleId: issued.userId, Arn: issued.arn });
    return queryResult('sts', 'AssumeRole', result, requestId);
  }

  // ---- IAM ----

  function roleXml(role: JsonObject): JsonObject {
    const lastUsed = role.RoleLastUsed as JsonObject | undefined;
    return {
      ...role,
      CreateDate: isoTimestamp(role.CreateDate),
      AssumeRolePolicyDocument: encodePolicyDocument(role.AssumeRolePolicyDocument),
      ...(lastUsed
        ? { RoleLastUsed: { ...lastUsed, LastUsedDate: isoTimestamp(lastUsed.LastUsedDate) } }
        : {}),
    };
  }

  function findRole(account: FleetAccountFiles | undefined, roleName: string): JsonObject {
    const role = account?.roles.find((candidate) => candidate.RoleName === roleName);
    if (!role) throw new AwsApiError(404, 'NoSuchEntity', `The role with name ${roleName} cannot be found.`);
    return role;
  }

  /** The account's customer-managed policy `arn`, or IAM's NoSuchEntity (an invalid ARN: InvalidInput). */
  function findPolicy(account: FleetAccountFiles | undefined, arn: string): FleetManagedPolicy {
    if (!/^arn:aws[a-z-]*:iam::(\d{12}|aws):policy\/.+/.test(arn)) {
      throw invalidParameter('iam')(`ARN ${arn} is not valid.`);
    }
    const policy = account?.policies.find((candidate) => candidate.Arn === arn);
    if (!policy)
      throw new AwsApiError(404, 'NoSuchEntity', `Policy ${arn} does not exist or is not attachable.`);
    return policy;
  }

  /** A managed policy's default version id: DefaultVersionId, else the version marked default. */
  function defaultVersionId(policy: FleetManagedPolicy): string | undefined {
    return (
      policy.DefaultVersionId ??
      policy.PolicyVersionList?.find((version) => version.IsDefaultVersion)?.VersionId ??
      undefined
    );
  }

  /** A managed policy as GetPolicy and the Policies of GetAccountAuthorizationDetails describe it. */
  function policyXml(policy: FleetManagedPolicy, withVersions: boolean): JsonObject {
    const { PolicyVersionList: versions, ...rest } = policy;
    const defaultId = defaultVersionId(policy);
    return {
      ...rest,
      PolicyId: rest.PolicyId ?? `ANPA${Buffer.from(policy.Arn).toString('hex').slice(-17).toUpperCase()}`,
      Path: rest.Path ?? '/',
      DefaultVersionId: defaultId,
      AttachmentCount: rest.AttachmentCount ?? 0,
      PermissionsBoundaryUsageCount: rest.PermissionsBoundaryUsageCount ?? 0,
      IsAttachable: rest.IsAttachable ?? true,
      CreateDate: isoTimestamp(rest.CreateDate),
      UpdateDate: isoTimestamp(rest.UpdateDate),
      ...(withVersions
        ? { PolicyVersionList: (versions ?? []).map((version) => policyVersionXml(version, defaultId)) }
        : {}),
    };
  }

  function policyVersionXml(
    version: NonNullable<FleetManagedPolicy['PolicyVersionList']>[number],
    defaultId: string | undefined,
  ): JsonObject {
    return {
      Document: encodePolicyDocument(version.Document),
      VersionId: version.VersionId,
      IsDefaultVersion: version.VersionId === defaultId,
      CreateDate: isoTimestamp(version.CreateDate),
    };
  }

  /** A role as the RoleDetailList of GetAccountAuthorizationDetails describes it: its policies inside. */
  function roleDetailXml(account: FleetAccountFiles | undefined, role: JsonObject): JsonObject {
    const policies = account?.rolePolicies[role.RoleName as string];
    return {
      ...roleXml(role),
      InstanceProfileList: [],
      RolePolicyList: (policies?.RolePolicyList ?? []).map((inline) => ({
        PolicyName: inline.PolicyName,
        PolicyDocument: encodePolicyDocument(inline.PolicyDocument),
      })),
      AttachedManagedPolicies: (policies?.AttachedPolicies ?? []).map((attached) => ({
        PolicyName: attached.PolicyName,
        PolicyArn: attached.PolicyArn,
      })),
    };
  }

  /**
   * GetAccountAuthorizationDetails: the entity types of `Filter.member.N` (all when none), roles
   * then customer-managed policies, paged as one sequence. The snapshot holds no users, groups or
   * AWS-managed policies: those lists are empty.
   */
  function authorizationDetails(
    account: FleetAccountFiles | undefined,
    params: URLSearchParams,
    invalid: (message: string) => AwsApiError,
  ): string {
    const filters = [...params.entries()]
      .filter(([key]) => /^Filter\.member\.\d+$/.test(key))
      .map(([, value]) => value);
    const known = ['User', 'Role', 'Group', 'LocalManagedPolicy', 'AWSManagedPolicy'];
    const unknown = filters.find((filter) => !known.includes(filter));
    if (unknown !== undefined) {
      throw invalid(
        `1 validation error detected: Value '[${unknown}]' at 'filter' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: [${known.join(', ')}]]`,
      );
    }
    const wants = (type: string) => filters.length === 0 || filters.includes(type);
    const items: ({ role: JsonObject } | { policy: FleetManagedPolicy })[] = [
      ...(wants('Role') ? (account?.roles ?? []).map((role) => ({ role })) : []),
      ...(wants('LocalManagedPolicy') ? (account?.policies ?? []).map((policy) => ({ policy })) : []),
    ];
    const max = pageSize(params.get('MaxItems'), 100, 1000, 'MaxItems', invalid);
    const result = page(items, params.get('Marker'), max, invalid);
    const roles = result.items.flatMap((item) => ('role' in item ? [roleDetailXml(account, item.role)] : []));
    const policies = result.items.flatMap((item) => ('policy' in item ? [policyXml(item.policy, true)] : []));
    return (
      xml('UserDetailList', []) +
      xml('GroupDetailList', []) +
      xml('RoleDetailList', roles) +
      xml('Policies', policies) +
      xml('IsTruncated', result.next !== undefined) +
      (result.next ? xml('Marker', result.next) : '')
    );
  }

  function iam(request: AwsRequest, caller: IssuedCredentials, requestId: string): AwsResponse {
    const { params, operation } = request;
    const account = accounts.get(caller.accountId);
    const invalid = invalidParameter('iam');
    const paged = <T>(items: readonly T[], listName: string, render: (item: T) => unknown): string => {
      const max = pageSize(params.get('MaxItems'), 100, 1000, 'MaxItems', invalid);
      const result = page(items, params.get('Marker'), max, invalid);
      return (
        xml(listName, result.items.map(render)) +
        xml('IsTruncated', result.next !== undefined) +
        (result.next ? xml('Marker', result.next) : '')
      );
    };
    switch (operation) {
      case 'ListRoles': {
        const prefix = params.get('PathPrefix') ?? '/';
        const roles = (account?.roles ?? []).filter((role) => String(role.Path ?? '/').startsWith(prefix));
        return queryResult('iam', operation, paged(roles, 'Roles', roleXml), requestId);
      }
      case 'GetRole': {
        const role = findRole(account, params.get('RoleName') ?? '');
        return queryResult('iam', operation, xml('Role', roleXml(role)), requestId);
      }
      case 'ListAttachedRolePolicies':
      case 'ListRolePolicies': {
        const roleName = params.get('RoleName') ?? '';
        findRole(account, roleName);
        const policies = account?.rolePolicies[roleName];
        return queryResult(
          'iam',
          operation,
          operation === 'ListRolePolicies'
            ? paged(policies?.PolicyNames ?? [], 'PolicyNames', (name) => name)
            : paged(policies?.AttachedPolicies ?? [], 'AttachedPolicies', (policy) => ({
                PolicyName: policy.PolicyName,
                PolicyArn: policy.PolicyArn,
              })),
          requestId,
        );
      }
      case 'GetRolePolicy': {
        const roleName = params.get('RoleName') ?? '';
        const policyName = params.get('PolicyName') ?? '';
        findRole(account, roleName);
        // Only an inline policy with its document: a name the snapshot lists without one is unknown here.
        const inline = account?.rolePolicies[roleName]?.RolePolicyList?.find(
          (candidate) => candidate.PolicyName === policyName,
        );
        if (!inline)
          throw new AwsApiError(
            404,
            'NoSuchEntity',
            `The role policy with name ${policyName} cannot be found.`,
          );
        return queryResult(
          'iam',
          operation,
          xml('RoleName', roleName) +
            xml('PolicyName', inline.PolicyName) +
            xml('PolicyDocument', encodePolicyDocument(inline.PolicyDocument)),
          requestId,
        );
      }
      case 'GetPolicy': {
        const policy = findPolicy(account, params.get('PolicyArn') ?? '');
        return queryResult('iam', operation, xml('Policy', policyXml(policy, false)), requestId);
      }
      case 'GetPolicyVersion': {
        const arn = params.get('PolicyArn') ?? '';
        const versionId = params.get('VersionId') ?? '';
        if (!/^v[1-9][0-9]*(\.[A-Za-z0-9-]*)?$/.test(versionId)) {
          throw invalid(
            `1 validation error detected: Value '${versionId}' at 'versionId' failed to satisfy constraint: Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?`,
          );
        }
        const policy = findPolicy(account, arn);
        const version = policy.PolicyVersionList?.find((candidate) => candidate.VersionId === versionId);
        if (!version)
          throw new AwsApiError(
            404,
            'NoSuchEntity',
            `Policy ${arn} version ${versionId} does not exist or is not attachable.`,
          );
        return queryResult(
          'iam',
          operation,
          xml('PolicyVersion', policyVersionXml(version, defaultVersionId(policy))),
          requestId,
        );
      }
      case 'GetAccountAuthorizationDetails':
        return queryResult('iam', operation, authorizationDetails(account, params, invalid), requestId);
      case 'ListOpenIDConnectProviders':
        return queryResult(
          'iam',
          operation,
          xml(
            'OpenIDConnectProviderList',
            (account?.oidcProviders ?? []).map((provider) => ({ Arn: provider.Arn })),
          ),
          requestId,
        );
      case 'GetOpenIDConnectProvider': {
        const arn = params.get('OpenIDConnectProviderArn') ?? '';
        if (!/^arn:aws[a-z-]*:iam::\d{12}:oidc-provider\/.+/.test(arn)) {
          throw invalid(`ARN ${arn} is not valid.`);
        }
        const provider = account?.oidcProviders.find((candidate) => candidate.Arn === arn);
        if (!provider)
          throw new AwsApiError(404, 'NoSuchEntity', `OpenIDConnect Provider not found for arn ${arn}`);
        return queryResult(
          'iam',
          operation,
          xml('Url', provider.Url) +
            xml('ClientIDList', provider.ClientIDList ?? []) +
            xml('ThumbprintList', provider.ThumbprintList ?? []) +
            xml('CreateDate', isoTimestamp(provider.CreateDate)) +
            xml('Tags', provider.Tags ?? []),
          requestId,
        );
      }
      default:
        throw new AwsApiError(
          400,
          'InvalidAction',
          `Could not find operation ${operation} for version 2010-05-08`,
        );
    }
  }

  // ---- EKS ----

  function clusterJson(cluster: FleetClusterFiles): JsonObject {
    const access = context.clusterAccess(cluster);
    const connector = cluster.cluster.connectorConfig as JsonObject | undefined;
    // Every emulated API server listens on loopback, reachable from wherever the collector runs: so
    // the public endpoint is on (whatever the snapshot says), unless the faults make it private.
    const vpc = cluster.cluster.resourcesVpcConfig as JsonObject | undefined;
    const isPrivate =
      context.faults.isPrivate(cluster) ||
      (context.faults.followsSnapshotEndpoints() && vpc?.endpointPublicAccess === false);
    return {
      ...cluster.cluster,
      createdAt: epochSeconds(cluster.cluster.createdAt),
      resourcesVpcConfig: {
        ...vpc,
        endpointPublicAccess: !isPrivate,
        endpointPrivateAccess: isPrivate || vpc?.endpointPrivateAccess === true,
        // With the public endpoint on, EKS reports its CIDRs (0.0.0.0/0 unless restricted).
        publicAccessCidrs: isPrivate ? [] : (context.faults.publicAccessCidrs(cluster) ?? ['0.0.0.0/0']),
      },
      endpoint: access.endpoint,
      certificateAuthority: { data: Buffer.from(access.caPem, 'utf8').toString('base64') },
      ...(connector
        ? { connectorConfig: { ...connector, activationExpiry: epochSeconds(connector.activationExpiry) } }
        : {}),
    };
  }

  function associationJson(association: JsonObject): JsonObject {
    return {
      ...association,
      createdAt: epochSeconds(association.createdAt),
      modifiedAt: epochSeconds(association.modifiedAt),
    };
  }

  function eks(request: AwsRequest, caller: IssuedCredentials): AwsResponse {
    const route = eksRoute(request.method, request.url);
    if (!route)
      throw new AwsApiError(
        404,
        'UnknownOperationException',
        `Unknown operation ${request.method} ${request.url.pathname}`,
      );
    const clusters = clustersByRegion.get(`${caller.accountId}/${request.region}`) ?? [];
    const query = request.url.searchParams;
    const invalid = invalidParameter('eks');
    if (route.operation === 'ListClusters') {
      const max = pageSize(query.get('maxResults'), 100, 100, 'maxResults', invalid);
      const result = page(
        clusters.map((cluster) => cluster.name),
        query.get('nextToken'),
        max,
        invalid,
      );
      return jsonResult({ clusters: result.items, ...(result.next ? { nextToken: result.next } : {}) });
    }
    const cluster = clusters.find((candidate) => candidate.name === route.clusterName);
    if (!cluster) {
      throw new AwsApiError(
        404,
        'ResourceNotFoundException',
        `No cluster found for name: ${route.clusterName}.`,
        {
          clusterName: route.clusterName,
        },
      );
    }
    if (route.operation === 'DescribeCluster') return jsonResult({ cluster: clusterJson(cluster) });
    if (isAccessEntryOperation(route.operation)) {
      const entryRoute = {
        operation: route.operation,
        clusterName: cluster.name,
        principalArn: route.principalArn,
      };
      const result = accessEntries.handle(entryRoute, cluster, { body: request.body, query });
      if (!result.ok) throw new AwsApiError(result.status, result.code, result.message, result.fields);
      return jsonResult(result.body);
    }
    if (route.operation === 'ListNodegroups') {
      const max = pageSize(query.get('maxResults'), 100, 100, 'maxResults', invalid);
      const result = page([...cluster.nodegroups.names], query.get('nextToken'), max, invalid);
      return jsonResult({ nodegroups: result.items, ...(result.next ? { nextToken: result.next } : {}) });
    }
    if (route.operation === 'DescribeNodegroup') {
      const nodegroup = cluster.nodegroups.described.find(
        (candidate) => candidate.nodegroupName === route.nodegroupName,
      );
      if (!nodegroup || !cluster.nodegroups.names.includes(route.nodegroupName ?? '')) {
        throw new AwsApiError(
          404,
          'ResourceNotFoundException',
          `No node group found for name: ${route.nodegroupName}.`,
          {
            clusterName: cluster.name,
            nodegroupName: route.nodegroupName,
          },
        );
      }
      // Timestamps as the EKS API sends them: epoch seconds (the snapshot holds the CLI's ISO form).
      return jsonResult({
        nodegroup: {
          clusterName: cluster.name,
          ...nodegroup,
          ...(nodegroup.createdAt === undefined ? {} : { createdAt: epochSeconds(nodegroup.createdAt) }),
          ...(nodegroup.modifiedAt === undefined ? {} : { modifiedAt: epochSeconds(nodegroup.modifiedAt) }),
        },
      });
    }
    if (route.operation === 'ListAddons') {
      const max = pageSize(query.get('maxResults'), 100, 100, 'maxResults', invalid);
      const result = page([...cluster.addons.names], query.get('nextToken'), max, invalid);
      return jsonResult({ addons: result.items, ...(result.next ? { nextToken: result.next } : {}) });
    }
    if (route.operation === 'DescribeAddon') {
      const addon = cluster.addons.described.find((candidate) => candidate.addonName === route.addonName);
      if (!addon || !cluster.addons.names.includes(route.addonName ?? '')) {
        throw new AwsApiError(
          404,
          'ResourceNotFoundException',
          `No addon: ${route.addonName} found in cluster: ${cluster.name}`,
          { clusterName: cluster.name, addonName: route.addonName },
        );
      }
      // Timestamps as the EKS API sends them: epoch seconds (the snapshot holds the CLI's ISO form).
      return jsonResult({
        addon: {
          clusterName: cluster.name,
          ...addon,
          ...(addon.createdAt === undefined ? {} : { createdAt: epochSeconds(addon.createdAt) }),
          ...(addon.modifiedAt === undefined ? {} : { modifiedAt: epochSeconds(addon.modifiedAt) }),
        },
      });
    }
    if (route.operation === 'ListPodIdentityAssociations') {
      const namespace = query.get('namespace');
      const serviceAccount = query.get('serviceAccount');
      const matching = cluster.associations.filter(
        (association) =>
          (!namespace || association.namespace === namespace) &&
          (!serviceAccount || association.serviceAccount === serviceAccount),
      );
      const max = pageSize(query.get('maxResults'), 100, 100, 'maxResults', invalid);
      const result = page(matching, query.get('nextToken'), max, invalid);
      const summaries = result.items.map((association) => {
        const summary: JsonObject = {};
        for (const field of [
          'clusterName',
          'namespace',
          'serviceAccount',
          'associationArn',
          'associationId',
          'ownerArn',
        ]) {
          if (association[field] !== undefined) summary[field] = association[field];
        }
        summary.clusterName ??= cluster.name;
        return summary;
      });
      return jsonResult({ associations: summaries, ...(result.next ? { nextToken: result.next } : {}) });
    }
    const association = cluster.associations.find(
      (candidate) => candidate.associationId === route.associationId,
    );
    if (!association) {
      throw new AwsApiError(
        404,
        'ResourceNotFoundException',
        `No Pod Identity Association found for id ${route.associationId}.`,
        {
          clusterName: cluster.name,
        },
      );
    }
    return jsonResult({ association: associationJson({ clusterName: cluster.name, ...association }) });
  }

  // ---- EC2 ----

  /** The launch template versions of the account's node groups in a region (from nodegroups.json), each once. */
  function launchTemplateVersions(accountId: string, region: string): JsonObject[] {
    const seen = new Map<string, JsonObject>();
    for (const cluster of clustersByRegion.get(`${accountId}/${region}`) ?? []) {
      for (const version of cluster.nodegroups.launchTemplateVersions) {
        seen.set(`${String(version.LaunchTemplateId)}@${String(version.VersionNumber)}`, version);
      }
    }
    return [...seen.values()];
  }

  /** An EC2 XML element of `value`: lowerCamel names, scalars and nested objects (lists are not served). */
  function ec2Xml(name: string, value: unknown): string {
    if (value === undefined || value === null || Array.isArray(value)) return '';
    const element = name.charAt(0).toLowerCase() + name.slice(1);
    if (typeof value === 'object') {
      const inner = Object.entries(value as JsonObject)
        .map(([key, child]) => ec2Xml(key, child))
        .join('');
      return `<${element}>${inner}</${element}>`;
    }
    return `<${element}>${escapeXml(String(element === 'createTime' ? isoTimestamp(value) : value))}</${element}>`;
  }

  function ec2(request: AwsRequest, caller: IssuedCredentials, requestId: string): AwsResponse {
    if (request.operation !== 'DescribeLaunchTemplateVersions') {
      throw new AwsApiError(
        400,
        'InvalidAction',
        `The action ${request.operation} is not valid for this web service.`,
      );
    }
    const params = request.params;
    const id = params.get('LaunchTemplateId');
    const name = params.get('LaunchTemplateName');
    if (!id && !name)
      throw new AwsApiError(400, 'MissingParameter', 'A launch template ID or name must be specified.');
    const versions = launchTemplateVersions(caller.accountId, request.region).filter((v) =>
      id ? v.LaunchTemplateId === id : v.LaunchTemplateName === name,
    );
    if (versions.length === 0) {
      throw id
        ? new AwsApiError(
            400,
            'InvalidLaunchTemplateId.NotFound',
            `The specified launch template, with template ID ${id}, does not exist.`,
          )
        : new AwsApiError(
            400,
            'InvalidLaunchTemplateName.NotFoundException',
            `The specified launch template, with template name ${name}, does not exist.`,
          );
    }
    const asked = [...params.entries()]
      .filter(([k]) => /^LaunchTemplateVersion\.\d+$/.test(k))
      .map(([, v]) => v);
    const latest = versions.reduce((a, b) => (Number(b.VersionNumber) > Number(a.VersionNumber) ? b : a));
    const answered = new Map<number, JsonObject>();
    for (const version of asked.length === 0 ? versions.map((v) => String(v.VersionNumber)) : asked) {
      const found =
        version === '$Latest'
          ? latest
          : version === '$Default'
            ? versions.find((v) => v.DefaultVersion === true)
            : versions.find((v) => String(v.VersionNumber) === version);
      if (!found)
        throw new AwsApiError(
          400,
          'InvalidLaunchTemplateId.VersionNotFound',
          `Could not find launch template version ${version}.`,
        );
      answered.set(Number(found.VersionNumber), found);
    }
    const items = [...answered.values()]
      .sort((a, b) => Number(b.VersionNumber) - Number(a.VersionNumber))
      .map((version) => {
        const { LaunchTemplateData, ...rest } = version;
        const fields = Object.entries(rest)
          .map(([k, v]) => ec2Xml(k, v))
          .join('');
        return `<item>${fields}${ec2Xml('LaunchTemplateData', LaunchTemplateData ?? {})}</item>`;
      })
      .join('');
    const ns = XML_NAMESPACE.ec2 ?? '';
    return {
      status: 200,
      contentType: 'text/xml;charset=UTF-8',
      body:
        `<?xml version="1.0" encoding="UTF-8"?>\n<DescribeLaunchTemplateVersionsResponse xmlns="${ns}">` +
        `<requestId>${requestId}</requestId><launchTemplateVersionSet>${items}</launchTemplateVersionSet>` +
        '</DescribeLaunchTemplateVersionsResponse>',
    };
  }

  // ---- Organizations ----

  function organizations(request: AwsRequest, caller: IssuedCredentials): AwsResponse {
    if (request.operation !== 'ListAccounts') {
      throw new AwsApiError(400, 'UnknownOperationException', `Unknown operation ${request.operation}`);
    }
    if (caller.accountId !== context.managementAccountId) {
      throw new AwsApiError(
        400,
        'AccessDeniedException',
        "You don't have permissions to access this resource.",
      );
    }
    const input = parseJsonBody(request.body, invalidParameter('organizations'));
    const invalid = invalidParameter('organizations');
    const max = pageSize(input.MaxResults, 20, 20, 'MaxResults', invalid);
    const result = page(orgAccountIds, input.NextToken as string | undefined, max, invalid);
    const management = context.managementAccountId;
    const accountsJson = result.items.map((id) => ({
      Id: id,
      Arn: `arn:aws:organizations::${management}:account/o-emulator0001/${id}`,
      Email: `aws+${id}@example.com`,
      Name: id === management ? 'management' : `account-${id}`,
      Status: 'ACTIVE',
      State: 'ACTIVE',
      JoinedMethod: id === management ? 'CREATED' : 'INVITED',
      JoinedTimestamp: Date.UTC(2024, 0, 1) / 1000,
    }));
    return jsonResult(
      { Accounts: accountsJson, ...(result.next ? { NextToken: result.next } : {}) },
      'application/x-amz-json-1.1',
    );
  }

  // ---- Account ----

  function account(request: AwsRequest, caller: IssuedCredentials): AwsResponse {
    if (request.operation !== 'ListRegions') {
      throw new AwsApiError(
        404,
        'UnknownOperationException',
        `Unknown operation ${request.method} ${request.url.pathname}`,
      );
    }
    const invalid = invalidParameter('account');
    const input = parseJsonBody(request.body, invalid);
    const accountId = typeof input.AccountId === 'string' ? input.AccountId : caller.accountId;
    if (accountId !== caller.accountId && caller.accountId !== context.managementAccountId) {
      throw new AwsApiError(
        403,
        'AccessDeniedException',
        `User: ${caller.arn} is not authorized to perform: account:ListRegions`,
      );
    }
    const wanted = Array.isArray(input.RegionOptStatusContains)
      ? (input.RegionOptStatusContains as string[])
      : undefined;
    // Loose filter: asking for ENABLED also gets the regions enabled by default.
    const included = (status: string) => !wanted || wanted.includes(status) || wanted.includes('ENABLED');
    const regions = (accounts.get(accountId)?.regions ?? [])
      .map((name) => ({
        RegionName: name,
        RegionOptStatus: OPT_IN_REGIONS.has(name) ? 'ENABLED' : 'ENABLED_BY_DEFAULT',
      }))
      .filter((region) => included(region.RegionOptStatus));
    const max = pageSize(input.MaxResults, 50, 50, 'MaxResults', invalid);
    const result = page(regions, input.NextToken as string | undefined, max, invalid);
    return jsonResult({ Regions: result.items, ...(result.next ? { NextToken: result.next } : {}) });
  }

  async function handle(
    req: IncomingMessage,
    body: string,
    /** Serving the real answer of a call whose failure mode is `malformed` (counted once already). */
    servingMalformed = false,
  ): Promise<{ response: AwsResponse; requestId: string }> {
    const requestId = randomUUID();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    const scope = credentialScope(req.headers, url);
    const unsigned = scope ? undefined : unsignedWebIdentityParams(method, url, body);
    if (unsigned) {
      // No credentials to authenticate: STS judges the web identity token alone.
      context.faults.count('sts:AssumeRoleWithWebIdentity');
      await sleep(context.faults.latencyMs);
      try {
        const fault = context.faults.decide(['sts:AssumeRoleWithWebIdentity']);
        if (fault === 'throttle') throw throttlingError('sts');
        if (fault === 'server-error') throw serverError('sts');
        return { response: webIdentity(unsigned, requestId), requestId };
      } catch (error) {
        const apiError =
          error instanceof AwsApiError
            ? error
            : new AwsApiError(500, 'InternalFailure', (error as Error).message ?? 'error');
        return { response: errorResponse('query', 'sts', apiError, requestId), requestId };
      }
    }
    if (!scope || !isService(scope.service)) {
      // Without a SigV4 scope the service is unknown: answer as the query services do.
      const error = scope
        ? new AwsApiError(
            400,
            'UnknownService',
            `The emulator does not serve the service "${scope.service}".`,
          )
        : new AwsApiError(403, 'MissingAuthenticationToken', 'Request is missing Authentication Token');
      return { response: errorResponse('query', 'sts', error, requestId), requestId };
    }
    const service = scope.service;
    const params = new URLSearchParams(url.search);
    if ((PROTOCOL[service] === 'query' || PROTOCOL[service] === 'ec2') && method === 'POST') {
      for (const [key, value] of new URLSearchParams(body)) params.append(key, value);
    }
    const operation = operationOf(service, method, url, params, req.headers);
    const request: AwsRequest = {
      method,
      url,
      headers: req.headers,
      body,
      service,
      region: scope.region,
      params,
      operation,
    };
    const apiKey = `${service}:${operation}`;
    if (!servingMalformed) {
      context.faults.count(apiKey);
      await sleep(context.faults.latencyMs);
    }
    try {
      const caller = authenticate(request, scope.accessKeyId);
      const fault = context.faults.decide([apiKey]);
      if (fault === 'throttle') throw throttlingError(service);
      if (fault === 'server-error') throw serverError(service);
      const failure = servingMalformed
        ? undefined
        : context.faults.failureOf(failureKeys(apiKey, request, caller.accountId));
      if (failure) {
        const failed = await failedResponse(failure, service, req);
        if (failed) return { response: failed, requestId };
        // malformed: the real answer, cut off halfway.
        const { response } = await handle(req, body, true);
        return {
          response: {
            ...response,
            status: 200,
            body: response.body.slice(0, Math.floor(response.body.length / 2)),
          },
          requestId,
        };
      }
      switch (service) {
        case 'sts':
          return { response: sts(request, caller, requestId), requestId };
        case 'iam':
          return { response: iam(request, caller, requestId), requestId };
        case 'ec2':
          return { response: ec2(request, caller, requestId), requestId };
        case 'eks':
          return { response: eks(request, caller), requestId };
        case 'organizations':
          return { response: organizations(request, caller), requestId };
        case 'account':
          return { response: account(request, caller), requestId };
        case 'sns':
        case 'sqs': {
          // Queue URLs and SNS notification URLs start with the address the caller reached.
          const endpoint = `http://${req.headers.host ?? '127.0.0.1'}`;
          const call = { operation, region: scope.region, accountId: caller.accountId, endpoint };
          const response =
            service === 'sns'
              ? snsState.handle({ ...call, params, requestId })
              : await sqsState.handle({ ...call, body, senderId: caller.userId });
          return { response, requestId };
        }
        case 'securityhub':
          try {
            return {
              response: securityHubState.handle({
                operation,
                body,
                region: scope.region,
                accountId: caller.accountId,
              }),
              requestId,
            };
          } catch (error) {
            if (error instanceof SecurityHubError)
              throw new AwsApiError(error.status, error.code, error.message);
            throw error;
          }
      }
    } catch (error) {
      const apiError =
        error instanceof AwsApiError
          ? error
          : new AwsApiError(500, 'InternalFailure', (error as Error).message ?? 'error');
      return { response: errorResponse(PROTOCOL[service], service, apiError, requestId), requestId };
    }
  }

  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      handle(req, Buffer.concat(chunks).toString('utf8')).then(
        ({ response, requestId }) => {
          res.writeHead(response.status, {
            'content-type': response.contentType,
            'x-amzn-requestid': requestId,
            ...response.headers,
          });
          res.end(response.body);
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(String(error));
        },
      );
    });
  };
}

/** An operation's key and its forms narrowed to the caller's account, the region, the cluster or role it names. */
function failureKeys(apiKey: string, request: AwsRequest, callerAccount: string): string[] {
  const keys = [apiKey, `${apiKey}@${callerAccount}`, `${apiKey}@${request.region}`];
  const cluster = /^\/clusters\/([^/]+)/.exec(request.url.pathname)?.[1];
  if (cluster) keys.push(`${apiKey}@${decodeURIComponent(cluster)}`);
  const roleName = request.params.get('RoleName');
  if (roleName) keys.push(`${apiKey}@${roleName}`);
  // A managed policy: by its ARN or its name (`iam:GetPolicyVersion@ledger-writer-dynamodb`).
  const policyArn = request.params.get('PolicyArn');
  if (policyArn) keys.push(`${apiKey}@${policyArn}`, `${apiKey}@${policyArn.split('/').pop() ?? ''}`);
  const target = /^arn:[^:]+:iam::(\d{12}):/.exec(request.params.get('RoleArn') ?? '')?.[1];
  if (target) keys.push(`${apiKey}@${target}`);
  // A launch template: by its id or name (`ec2:DescribeLaunchTemplateVersions@lt-0a1b...`).
  const template = request.params.get('LaunchTemplateId') ?? request.params.get('LaunchTemplateName');
  if (template) keys.push(`${apiKey}@${template}`);
  return keys;
}

/** The answer of a call that fails by `mode`; undefined for `malformed` (the real answer is cut off). */
async function failedResponse(
  mode: FailureMode,
  service: Service,
  req: IncomingMessage,
): Promise<AwsResponse | undefined> {
  switch (mode) {
    case 'denied': {
      const code =
        PROTOCOL[service] === 'query'
          ? 'AccessDenied'
          : PROTOCOL[service] === 'ec2'
            ? 'UnauthorizedOperation'
            : 'AccessDeniedException';
      return errorResponse(
        PROTOCOL[service],
        service,
        new AwsApiError(403, code, 'User is not authorized to perform this operation (injected)'),
        randomUUID(),
      );
    }
    case 'html-404':
      return {
        status: 404,
        contentType: 'text/html; charset=utf-8',
        body: '<!doctype html>\n<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>The requested URL was not found on the server.</p></body></html>',
      };
    case 'server-error':
      return errorResponse(PROTOCOL[service], service, serverError(service), randomUUID());
    case 'silent':
      // Read, never answered: the caller's timeout has to end it (the socket closes at stop()).
      await new Promise<void>((resolve) => req.socket.once('close', () => resolve()));
      return { status: 500, contentType: 'text/plain', body: '' };
    case 'malformed':
      return undefined;
  }
}

function parseJsonBody(body: string, invalid: (message: string) => AwsApiError): JsonObject {
  if (body.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(body);
    if (value && typeof value === 'object' && !Array.isArray(value)) return value as JsonObject;
  } catch {
    // fall through
  }
  throw invalid('The request body is not a JSON object.');
}
