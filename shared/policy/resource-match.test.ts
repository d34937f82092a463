import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canBeStar, canMatchTemplate, globTokens, intersects } from './resource-match.ts';

const BUCKET = 'arn:${Partition}:s3:::${BucketName}';
const OBJECT = 'arn:${Partition}:s3:::${BucketName}/${ObjectName}';
const ACCESS_POINT = 'arn:${Partition}:s3:${Region}:${Account}:accesspoint/${AccessPointName}';
const TABLE = 'arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}';
const LOG_STREAM =
  'arn:${Partition}:logs:${Region}:${Account}:log-group:${LogGroupName}:log-stream:${LogStreamName}';

describe('canMatchTemplate', () => {
  it.each([
    // Seed 002: a bucket is no object and an object no bucket.
    ['arn:aws:s3:::my-test-bucket', BUCKET, true],
    ['arn:aws:s3:::my-test-bucket/*', BUCKET, false],
    ['arn:aws:s3:::my-test-bucket', OBJECT, false],
    ['arn:aws:s3:::my-test-bucket/*', OBJECT, true],
    ['arn:aws:s3:::my-test-bucket/reports/2026/*.csv', OBJECT, true],
    ['arn:aws:s3:::my-test-bucket*', BUCKET, true],
    ['arn:aws:s3:::my-test-bucket*', OBJECT, true],
    ['arn:aws:s3:::*', BUCKET, true],
    ['arn:aws:s3:::Upper-Case', BUCKET, false],
    ['arn:aws:s3:::my-test-bucket', ACCESS_POINT, false],
    ['arn:aws:s3:us-east-1:111122223333:accesspoint/ap', ACCESS_POINT, true],
    ['arn:*:s3:*:*:accesspoint/*', ACCESS_POINT, true],
    ['*', BUCKET, true],
    ['arn:aws:s3:::b?', BUCKET, true],
    // Another service's ARN never matches.
    ['arn:aws:dynamodb:us-east-1:111122223333:table/orders', BUCKET, false],
    ['arn:aws:dynamodb:us-east-1:111122223333:table/orders', TABLE, true],
    ['arn:aws:dynamodb:us-east-1:111122223333:table/orders/index/by-date', TABLE, true],
    ['arn:aws:dynamodb:::table/orders', TABLE, false],
    ['arn:aws:logs:us-east-1:111122223333:log-group:app', LOG_STREAM, false],
    ['arn:aws:logs:us-east-1:111122223333:log-group:app:*', LOG_STREAM, true],
    // A policy variable's value is unknown: it may be anything.
    ['arn:aws:s3:::${aws:PrincipalTag/bucket}', BUCKET, true],
    // ${*} is a literal star, which no bucket name holds.
    ['arn:aws:s3:::${*}', BUCKET, false],
    ['arn:aws:s3:::b/${*}', OBJECT, true],
  ])('%s against %s: %s', (glob, template, expected) => {
    expect(canMatchTemplate(glob, template)).toBe(expected);
  });

  it('sees whether an entry can be "*"', () => {
    expect(canBeStar('*')).toBe(true);
    expect(canBeStar('**')).toBe(true);
    expect(canBeStar('?')).toBe(true);
    expect(canBeStar('arn:aws:s3:::*')).toBe(false);
    expect(canBeStar('arn:aws:sts::111122223333:*')).toBe(false);
  });

  it('agrees with matching one concrete string, for globs over a small alphabet', () => {
    // A literal string is a pattern too: the intersection with it is a plain glob match.
    const toRegex = (glob: string) =>
      new RegExp(`^${[...glob].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c)).join('')}$`, 's');
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', 'b', '/', '*', '?'), maxLength: 8 }),
        fc.string({ unit: fc.constantFrom('a', 'b', '/'), maxLength: 8 }),
        (glob, text) => {
          expect(intersects(globTokens(glob), globTokens(text))).toBe(toRegex(glob).test(text));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('is symmetric', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', ':', '/', '*', '?'), maxLength: 10 }),
        fc.string({ unit: fc.constantFrom('a', ':', '/', '*', '?'), maxLength: 10 }),
        (x, y) => {
          expect(intersects(globTokens(x), globTokens(y))).toBe(intersects(globTokens(y), globTokens(x)));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('decides a long hostile entry (10,000 characters of runs) without an exponential walk', () => {
    // The test's timeout is the guard: a backtracking matcher takes hours on this.
    const glob = `arn:aws:s3:::${'*a'.repeat(5000)}/`;
    expect(canMatchTemplate(glob, OBJECT)).toBe(true);
    expect(canMatchTemplate(`${glob}A`, OBJECT)).toBe(true);
    expect(canMatchTemplate(glob.slice(0, -1), BUCKET)).toBe(true);
    expect(canMatchTemplate(`${glob.slice(0, -1)}A`, BUCKET)).toBe(false);
  });
});
