import { describe, expect, it } from 'vitest';
import {
  clusterNameProblem,
  eksIssuerProblem,
  namespaceProblem,
  objectNameProblem,
  parseRoleArn,
  rolePathProblem,
} from './aws-names.ts';

const problem = (value: string) => {
  const parsed = parseRoleArn(value);
  return parsed.ok ? null : parsed.problem;
};

describe('parseRoleArn: IAM role ARNs by IAM rules', () => {
  it.each([
    'arn:aws:iam::210987654321:role/checkout-cart-api',
    'arn:aws:iam::210987654321:role/service-role/team/a+b=c,d.e@f_g-h',
    'arn:aws-cn:iam::210987654321:role/x',
    'arn:aws-us-gov:iam::210987654321:role/x',
    'arn:aws-iso-b:iam::210987654321:role/x',
    `arn:aws:iam::210987654321:role/${'n'.repeat(64)}`,
  ])('accepts %s', (arn) => {
    expect(problem(arn)).toBeNull();
  });

  it('reads the parts, path included', () => {
    expect(parseRoleArn('arn:aws:iam::210987654321:role/team/app/reader')).toEqual({
      ok: true,
      arn: { partition: 'aws', accountId: '210987654321', path: '/team/app/', name: 'reader' },
    });
  });

  it.each([
    [
      `arn:aws:iam::210987654321:role/${'a'.repeat(70_000)}`,
      'the role name has 70,000 characters; IAM allows 1 to 64',
    ],
    [
      `arn:aws:iam::210987654321:role/${'a'.repeat(65)}`,
      'the role name has 65 characters; IAM allows 1 to 64',
    ],
    ['arn:aws:iam::210987654321:role/', 'the role name is empty'],
    ['arn:aws:iam::210987654321:role/x;rm -rf ~', 'the role name holds characters IAM does not allow'],
    ['arn:aws:iam::210987654321:role/x\u001b[31m', 'the role name holds characters IAM does not allow'],
    ['arn:awsx:iam::210987654321:role/x', '"awsx" is not an AWS partition'],
    ['arn:aws:s3::210987654321:role/x', 'the service is "s3", not iam'],
    ['arn:aws:iam:eu-west-1:210987654321:role/x', 'an IAM ARN has no region'],
    ['arn:aws:iam::21098765432:role/x', 'the account id is not 12 digits'],
    ['arn:aws:iam::210987654321:user/x', 'the resource is not role/NAME'],
    ['arn:aws:iam::210987654321:role/a b/x', 'the role path is not'],
    [
      `arn:aws:iam::210987654321:role/${'p/'.repeat(300)}x`,
      'the role path has 601 characters; IAM allows at most 512',
    ],
    [' arn:aws:iam::210987654321:role/x', 'it has spaces or line breaks around it'],
    ['"arn:aws:iam::210987654321:role/x"', 'it is quoted'],
    ['role/x', 'it is not of the form'],
  ])('refuses %#, naming the rule', (arn, expected) => {
    expect(problem(arn)).toContain(expected);
  });
});

describe('the other names', () => {
  it('IAM paths', () => {
    expect(rolePathProblem('/')).toBeNull();
    expect(rolePathProblem('/a/b/')).toBeNull();
    expect(rolePathProblem('/a')).not.toBeNull();
  });

  it('Kubernetes namespaces are DNS-1123 labels, object names DNS-1123 subdomains', () => {
    expect(namespaceProblem('checkout')).toBeNull();
    expect(namespaceProblem('kube-system')).toBeNull();
    expect(namespaceProblem('Checkout')).not.toBeNull();
    expect(namespaceProblem('a.b')).not.toBeNull();
    expect(namespaceProblem('x'.repeat(64))).toContain('at most 63');
    expect(objectNameProblem('cart-api')).toBeNull();
    expect(objectNameProblem('cart-api.v2')).toBeNull();
    expect(objectNameProblem('x$(touch PWNED)')).not.toBeNull();
    expect(objectNameProblem('cart\u202Eipa')).not.toBeNull();
    expect(objectNameProblem('x'.repeat(254))).toContain('at most 253');
  });

  it('EKS cluster names and issuers', () => {
    expect(clusterNameProblem('prod_eu-1')).toBeNull();
    expect(clusterNameProblem('-prod')).not.toBeNull();
    expect(clusterNameProblem('x'.repeat(101))).not.toBeNull();
    expect(
      eksIssuerProblem('https://oidc.eks.eu-west-1.amazonaws.com/id/3FEC16E758AB290D435C6F168F0D73A7'),
    ).toBeNull();
    expect(
      eksIssuerProblem('https://oidc.eks.cn-north-1.amazonaws.com.cn/id/3FEC16E758AB290D435C6F168F0D73A7'),
    ).toBeNull();
    expect(eksIssuerProblem('https://evil.example/id/3FEC16E758AB290D435C6F168F0D73A7')).not.toBeNull();
    expect(
      eksIssuerProblem('http://oidc.eks.eu-west-1.amazonaws.com/id/3FEC16E758AB290D435C6F168F0D73A7'),
    ).not.toBeNull();
  });
});
