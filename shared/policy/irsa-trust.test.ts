import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  admitsEveryServiceAccount,
  assessWebIdentityTrust,
  eksIssuerRegion,
  hostPathOfProviderArn,
  issuerHostPath,
  parseArn,
  providerGrants,
  subjectRestriction,
} from './irsa-trust.ts';
import { parsePolicyDocument } from './policy-document.ts';

const ISSUER = 'oidc.eks.us-west-2.amazonaws.com/id/ABC';
const PROVIDER = `arn:aws:iam::111122223333:oidc-provider/${ISSUER}`;

function grantWith(condition: Record<string, unknown> | undefined) {
  const parsed = parsePolicyDocument({
    Statement: [
      {
        Effect: 'Allow',
        Principal: { Federated: PROVIDER },
        Action: 'sts:AssumeRoleWithWebIdentity',
        Condition: condition,
      },
    ],
  });
  if (!parsed.ok) throw new Error(parsed.error);
  const [grant] = providerGrants(parsed.policy);
  if (!grant) throw new Error('no grant');
  return grant;
}

describe('issuer and ARN helpers', () => {
  it('strips the scheme and trailing slashes from an issuer', () => {
    expect(issuerHostPath(`https://${ISSUER}/`)).toBe(ISSUER);
    expect(issuerHostPath(`HTTP://${ISSUER}///`)).toBe(ISSUER);
    expect(issuerHostPath('///')).toBe('');
    expect(issuerHostPath('/a/')).toBe('/a');
  });
  it('strips them from a hostile issuer (a long run of slashes, then another character)', () => {
    // The regular expression it replaced, /\/+$/, took minutes on this (found by test/fuzz-snapshot.test.ts);
    // test/regex-safety.test.ts keeps such expressions out, without timing anything.
    const issuer = `https://${'/'.repeat(1_000_000)}x`;
    expect(issuerHostPath(issuer)).toBe(issuer.slice('https://'.length));
    expect(issuerHostPath(`${issuer}${'/'.repeat(1_000_000)}`)).toBe(issuer.slice('https://'.length));
  });
  it('reads the issuer of a provider ARN and the region of an EKS issuer', () => {
    expect(hostPathOfProviderArn(PROVIDER)).toBe(ISSUER);
    expect(hostPathOfProviderArn('arn:aws:iam::111122223333:role/x')).toBeNull();
    expect(eksIssuerRegion(ISSUER)).toBe('us-west-2');
    expect(eksIssuerRegion('oidc.eks.cn-north-1.amazonaws.com.cn/id/ABC')).toBe('cn-north-1');
    expect(eksIssuerRegion('token.actions.githubusercontent.com')).toBeNull();
  });
});

describe('assessWebIdentityTrust', () => {
  const OTHER_ISSUER = 'oidc.eks.eu-west-1.amazonaws.com/id/DEF';
  const OTHER_PROVIDER = `arn:aws:iam::111122223333:oidc-provider/${OTHER_ISSUER}`;
  const statement = (provider: string, issuerKey: string, subject: string) => ({
    Effect: 'Allow',
    Principal: { Federated: provider },
    Action: 'sts:AssumeRoleWithWebIdentity',
    Condition: { StringEquals: { [`${issuerKey}:sub`]: subject, [`${issuerKey}:aud`]: 'sts.amazonaws.com' } },
  });
  // One role trusted by two clusters; the second statement's keys are written in upper case.
  const parsed = parsePolicyDocument({
    Version: '2012-10-17',
    Statement: [
      statement(PROVIDER, ISSUER, 'system:serviceaccount:shop:api'),
      statement(OTHER_PROVIDER, OTHER_ISSUER.toUpperCase(), 'system:serviceaccount:shop:worker'),
    ],
  });
  if (!parsed.ok) throw new Error(parsed.error);
  const policy = parsed.policy;
  const request = (issuer: string, provider: string, sa: string, audience = 'sts.amazonaws.com') => ({
    providerArn: provider,
    issuer,
    subject: `system:serviceaccount:shop:${sa}`,
    audience,
  });

  it('judges each request by the keys of its own issuer, whichever issuer was assessed before', () => {
    for (let round = 0; round < 2; round++) {
      expect(assessWebIdentityTrust(policy, request(ISSUER, PROVIDER, 'api')).result).toBe('admits');
      // Condition keys are compared in any case, as IAM does.
      expect(assessWebIdentityTrust(policy, request(OTHER_ISSUER, OTHER_PROVIDER, 'worker')).result).toBe(
        'admits',
      );
      // Each cluster's statement admits its own ServiceAccount only.
      expect(assessWebIdentityTrust(policy, request(OTHER_ISSUER, OTHER_PROVIDER, 'api')).result).toBe(
        'IRSA-013',
      );
      expect(assessWebIdentityTrust(policy, request(ISSUER, PROVIDER, 'worker')).result).toBe('IRSA-013');
    }
  });

  it('attributes a failure to the provider, the subject or the audience', () => {
    const elsewhere = `arn:aws:iam::444455556666:oidc-provider/${ISSUER}`;
    expect(assessWebIdentityTrust(policy, request(ISSUER, elsewhere, 'api')).result).toBe('IRSA-012');
    const audience = assessWebIdentityTrust(policy, request(ISSUER, PROVIDER, 'api', 'other'));
    expect(audience).toMatchObject({ result: 'IRSA-014' });
    expect(audience.result !== 'admits' && audience.reason).toMatch(/require :aud "sts.amazonaws.com"/);
  });
});

describe('admitsEveryServiceAccount', () => {
  it.each([
    '*',
    'system:serviceaccount:*',
    'system:serviceaccount:*:*',
    'system:*',
    'system:serviceaccount:?*:?*',
  ])('%s admits every service account', (pattern) => expect(admitsEveryServiceAccount(pattern)).toBe(true));
  it.each([
    'system:serviceaccount:ns:*',
    'system:serviceaccount:*:api',
    'system:serviceaccount:?:?',
    'system:serviceaccount:a:b',
  ])('%s does not', (pattern) => expect(admitsEveryServiceAccount(pattern)).toBe(false));
});

describe('subjectRestriction', () => {
  const sub = `${ISSUER}:sub`;
  it.each([
    ['no condition', undefined],
    ['only :aud', { StringEquals: { [`${ISSUER}:aud`]: 'sts.amazonaws.com' } }],
    ['IfExists', { StringEqualsIfExists: { [sub]: 'system:serviceaccount:a:b' } }],
    ['ForAllValues', { 'ForAllValues:StringEquals': { [sub]: 'system:serviceaccount:a:b' } }],
    ['a negated operator', { StringNotEquals: { [sub]: 'system:serviceaccount:a:b' } }],
    ['Null', { Null: { [sub]: 'false' } }],
    ['an all-admitting pattern', { StringLike: { [sub]: 'system:serviceaccount:*' } }],
  ])('is unrestricted with %s', (_name, condition) => {
    expect(subjectRestriction(grantWith(condition)).kind).toBe('unrestricted');
  });
  it.each([
    ['StringEquals', { StringEquals: { [sub]: 'system:serviceaccount:a:b' } }, []],
    [
      'ForAnyValue:StringLike',
      { 'ForAnyValue:StringLike': { [sub]: 'system:serviceaccount:a:*' } },
      ['system:serviceaccount:a:*'],
    ],
    ['a key in upper case', { StringEquals: { [sub.toUpperCase()]: 'system:serviceaccount:a:b' } }, []],
  ])('is strict with %s', (_name, condition, wildcards) => {
    const restriction = subjectRestriction(grantWith(condition));
    expect(restriction.kind).toBe('strict');
    expect(restriction.wildcardPatterns).toEqual(wildcards);
  });
});

describe('parseArn', () => {
  /** The definition it is cut to: split at every colon, the resource the parts after the fifth. */
  function splitArn(arn: string) {
    const parts = arn.split(':');
    if (parts.length < 6 || parts[0] !== 'arn') return null;
    const [, partition, service, region, accountId, ...rest] = parts;
    return { partition, service, region, accountId, resource: rest.join(':') };
  }

  it('reads the parts of role, provider and resource ARNs with colons in the resource', () => {
    expect(parseArn('arn:aws:iam::111122223333:role/team/app')).toEqual({
      partition: 'aws',
      service: 'iam',
      region: '',
      accountId: '111122223333',
      resource: 'role/team/app',
    });
    expect(parseArn('arn:aws-cn:logs:cn-north-1:111122223333:log-group:/aws/eks:*')?.resource).toBe(
      'log-group:/aws/eks:*',
    );
    expect(parseArn('arn:aws:iam::111122223333')).toBeNull();
    expect(parseArn('aws:iam::111122223333:role/x')).toBeNull();
    expect(parseArn('ARN:aws:iam::111122223333:role/x')).toBeNull();
  });

  it('agrees with splitting at every colon, on any text', () => {
    const colonful = fc
      .array(fc.oneof(fc.constantFrom(':', 'arn', 'arn:', '::', 'aws', '/'), fc.string({ maxLength: 4 })), {
        maxLength: 12,
      })
      .map((pieces) => pieces.join(''));
    fc.assert(
      fc.property(colonful, (arn) => {
        expect(parseArn(arn)).toEqual(splitArn(arn));
      }),
      { numRuns: 2000 },
    );
  });
});
