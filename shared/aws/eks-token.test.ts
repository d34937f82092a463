import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { AwsCredentialIdentity } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { createEksToken, EksTokenCache, type EksTokenExpectation, verifyEksToken } from './eks-token.ts';

const ACCESS_KEY_ID = 'AKIDEXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';
const SESSION_TOKEN = 'IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLXdlc3QtMiJHMEUCIQD+example/session+token==';
const CREDS: AwsCredentialIdentity = { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET };
const SESSION_CREDS: AwsCredentialIdentity = { ...CREDS, sessionToken: SESSION_TOKEN };
const NOW = new Date('2026-03-01T12:00:00Z');
const MINUTE = 60_000;
const REFERENCE_SCRIPT = fileURLToPath(
  new URL('../../test/fixtures/eks-token-reference.py', import.meta.url),
);

function decode(token: string): string {
  return Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8');
}

function encode(url: string): string {
  return `k8s-aws-v1.${Buffer.from(url, 'utf8').toString('base64url')}`;
}

function expectFor(clusterName: string, now: Date = NOW): EksTokenExpectation {
  return { clusterName, now, secretAccessKeyFor: (id) => (id === ACCESS_KEY_ID ? SECRET : undefined) };
}

describe('createEksToken', () => {
  it('is k8s-aws-v1. + unpadded base64url, expiring 14 minutes after signing', async () => {
    const { token, expiresAt } = await createEksToken({
      clusterName: 'prod',
      region: 'us-west-2',
      credentials: CREDS,
      now: NOW,
    });
    expect(token.startsWith('k8s-aws-v1.')).toBe(true);
    expect(token.slice('k8s-aws-v1.'.length)).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(token).not.toContain('=');
    expect(expiresAt.toISOString()).toBe('2026-03-01T12:14:00.000Z');
  });

  it('presigns GetCallerIdentity on the regional STS endpoint, parameters in botocore order', async () => {
    const { token } = await createEksToken({
      clusterName: 'prod',
      region: 'us-west-2',
      credentials: CREDS,
      now: NOW,
    });
    const raw = decode(token);
    expect(raw).toMatch(
      /^https:\/\/sts\.us-west-2\.amazonaws\.com\/\?Action=GetCallerIdentity&Version=2011-06-15&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260301%2Fus-west-2%2Fsts%2Faws4_request&X-Amz-Date=20260301T120000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Signature=[0-9a-f]{64}$/,
    );
    const url = new URL(raw);
    expect([...url.searchParams.keys()]).toEqual([
      'Action',
      'Version',
      'X-Amz-Algorithm',
      'X-Amz-Credential',
      'X-Amz-Date',
      'X-Amz-Expires',
      'X-Amz-SignedHeaders',
      'X-Amz-Signature',
    ]);
    expect(url.searchParams.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20260301/us-west-2/sts/aws4_request');
  });

  it('puts the session token, RFC 3986-encoded, after X-Amz-SignedHeaders and before the signature', async () => {
    const { token } = await createEksToken({
      clusterName: 'prod',
      region: 'eu-central-1',
      credentials: SESSION_CREDS,
      now: NOW,
    });
    const raw = decode(token);
    expect(raw).toContain(
      '&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id&X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2F%2F%2F%2F%2F%2F%2F%2F%2F%2FwEaCXVzLXdlc3QtMiJHMEUCIQD%2Bexample%2Fsession%2Btoken%3D%3D&X-Amz-Signature=',
    );
    expect(new URL(raw).searchParams.get('X-Amz-Security-Token')).toBe(SESSION_TOKEN);
  });

  it('is deterministic for a fixed time and changes with the cluster', async () => {
    const input = { clusterName: 'prod', region: 'us-west-2', credentials: CREDS, now: NOW };
    const a = await createEksToken(input);
    const b = await createEksToken(input);
    const other = await createEksToken({ ...input, clusterName: 'dev' });
    expect(a.token).toBe(b.token);
    expect(other.token).not.toBe(a.token);
  });

  it('equals tokens printed by awscli 1.45.11 / botocore 1.43.11 `aws eks get-token` (pinned)', async () => {
    // Generated once with the real awscli TokenGenerator and botocore's clock patched to the timestamp.
    const plain = await createEksToken({
      clusterName: 'prod',
      region: 'us-west-2',
      credentials: CREDS,
      now: NOW,
    });
    expect(plain.token).toBe(
      'k8s-aws-v1.aHR0cHM6Ly9zdHMudXMtd2VzdC0yLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjYwMzAxJTJGdXMtd2VzdC0yJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNjAzMDFUMTIwMDAwWiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TaWduYXR1cmU9YTk5YjBhOWU1ZTAxMjQzOGE1ZDJhZjM1ZmRiMTA0YjkyMTIwNGUxZWI3ZjllYWIwMTdjOGUxMTE4NzM1ODdjNg',
    );
    const withSession = await createEksToken({
      clusterName: 'team_a-staging-2',
      region: 'eu-central-1',
      credentials: SESSION_CREDS,
      now: new Date('2026-11-22T03:04:05.678Z'),
    });
    expect(withSession.token).toBe(
      'k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtY2VudHJhbC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjYxMTIyJTJGZXUtY2VudHJhbC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNjExMjJUMDMwNDA1WiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TZWN1cml0eS1Ub2tlbj1JUW9KYjNKcFoybHVYMlZqRVhBTVBMRSUyRiUyRiUyRiUyRiUyRiUyRiUyRiUyRiUyRiUyRndFYUNYVnpMWGRsYzNRdE1pSkhNRVVDSVFEJTJCZXhhbXBsZSUyRnNlc3Npb24lMkJ0b2tlbiUzRCUzRCZYLUFtei1TaWduYXR1cmU9ZDE3MjE5YzkyZmY3YjA0N2UyZjUwNzZlYTM3YTEzYmFhZTNjZDEwN2IwYzk0YzJiYmE3NTZhMjhlNjllMDFmMA',
    );
  });

  it('refuses a region or cluster name that would change the URL or the signed header', async () => {
    const base = { clusterName: 'prod', region: 'us-west-2', credentials: CREDS, now: NOW };
    await expect(createEksToken({ ...base, region: 'evil.com/x' })).rejects.toThrow(/not an AWS region name/);
    await expect(createEksToken({ ...base, clusterName: '' })).rejects.toThrow(/cluster name/);
    await expect(createEksToken({ ...base, clusterName: 'a b' })).rejects.toThrow(/cluster name/);
  });
});

describe('verifyEksToken', () => {
  async function mint(clusterName = 'prod', credentials = CREDS, region = 'us-west-2'): Promise<string> {
    return (await createEksToken({ clusterName, region, credentials, now: NOW })).token;
  }

  it('accepts its own token for the right cluster, with or without a session token', async () => {
    expect(verifyEksToken(await mint(), expectFor('prod'))).toEqual({ ok: true, accessKeyId: ACCESS_KEY_ID });
    expect(verifyEksToken(await mint('prod', SESSION_CREDS, 'eu-central-1'), expectFor('prod'))).toEqual({
      ok: true,
      accessKeyId: ACCESS_KEY_ID,
    });
  });

  it('accepts it up to 15 minutes after signing, and with up to 5 minutes of clock skew', async () => {
    const token = await mint();
    expect(verifyEksToken(token, expectFor('prod', new Date(NOW.getTime() + 15 * MINUTE))).ok).toBe(true);
    expect(verifyEksToken(token, expectFor('prod', new Date(NOW.getTime() - 5 * MINUTE))).ok).toBe(true);
  });

  it('refuses a token minted for another cluster', async () => {
    const verdict = verifyEksToken(await mint('dev'), expectFor('prod'));
    expect(verdict).toEqual({
      ok: false,
      reason: 'token is for another cluster, or was altered (signature does not match x-k8s-aws-id=prod)',
    });
  });

  it('refuses an expired token (16 minutes later) and one dated in the future', async () => {
    const token = await mint();
    const late = verifyEksToken(token, expectFor('prod', new Date(NOW.getTime() + 16 * MINUTE)));
    expect(late).toEqual({
      ok: false,
      reason: 'token expired: signed 960s ago at 2026-03-01T12:00:00.000Z, limit 900s',
    });
    const early = verifyEksToken(token, expectFor('prod', new Date(NOW.getTime() - 6 * MINUTE)));
    expect(early).toMatchObject({ ok: false, reason: expect.stringMatching(/dated 360s in the future/) });
    const shortLimit = verifyEksToken(token, {
      ...expectFor('prod', new Date(NOW.getTime() + 2 * MINUTE)),
      maxAgeSeconds: 60,
    });
    expect(shortLimit).toMatchObject({ ok: false, reason: expect.stringMatching(/limit 60s/) });
  });

  it('refuses a tampered signature or a tampered signed parameter', async () => {
    const raw = decode(await mint());
    const last = raw.at(-1) === '0' ? '1' : '0';
    const flipped = verifyEksToken(encode(raw.slice(0, -1) + last), expectFor('prod'));
    expect(flipped).toMatchObject({ ok: false, reason: expect.stringMatching(/signature does not match/) });
    const longer = verifyEksToken(
      encode(raw.replace('X-Amz-Expires=60', 'X-Amz-Expires=900')),
      expectFor('prod'),
    );
    expect(longer).toMatchObject({ ok: false, reason: expect.stringMatching(/signature does not match/) });
    const truncated = verifyEksToken(encode(raw.slice(0, -2)), expectFor('prod'));
    expect(truncated).toMatchObject({ ok: false, reason: expect.stringMatching(/not 64 hex digits/) });
  });

  it('refuses a wrong prefix, garbage base64 and payloads that are not an STS GetCallerIdentity URL', async () => {
    const token = await mint();
    const raw = decode(token);
    const cases: Array<[string, RegExp]> = [
      [token.replace('k8s-aws-v1.', 'k8s-aws-v2.'), /does not start with "k8s-aws-v1\."/],
      [token.slice('k8s-aws-v1.'.length), /does not start with/],
      ['k8s-aws-v1.', /not unpadded base64url/],
      ['k8s-aws-v1.!!not*base64!!', /not unpadded base64url/],
      [`${token}==`, /not unpadded base64url/],
      ['k8s-aws-v1.AAAAA', /not unpadded base64url/],
      ['k8s-aws-v1.__8', /does not decode to a URL/],
      [encode('just some text'), /does not decode to a URL/],
      [encode(raw.replace('https://', 'http://')), /not https/],
      [encode(raw.replace('sts.us-west-2.amazonaws.com', 'sts.example.com')), /host "sts\.example\.com"/],
      [encode(raw.replace('Action=GetCallerIdentity', 'Action=AssumeRole')), /Action is "AssumeRole"/],
      [encode(raw.replace('AWS4-HMAC-SHA256', 'AWS4-HMAC-SHA1')), /X-Amz-Algorithm/],
      [encode(raw.replace('host%3Bx-k8s-aws-id', 'host')), /does not include x-k8s-aws-id/],
      [
        encode(raw.replace('host%3Bx-k8s-aws-id', 'host%3Bx-k8s-aws-id%3Bx-other')),
        /must be host;x-k8s-aws-id/,
      ],
      [encode(raw.replace('%2Fus-west-2%2F', '%2Fus-east-1%2F')), /signed for region "us-east-1"/],
      [encode(raw.replace('X-Amz-Date=20260301T120000Z', 'X-Amz-Date=2026-03-01')), /X-Amz-Date/],
      [encode(`${raw}&Action=GetCallerIdentity`), /repeats the query parameter "Action"/],
    ];
    for (const [candidate, reason] of cases) {
      const verdict = verifyEksToken(candidate, expectFor('prod'));
      expect(verdict, candidate).toMatchObject({ ok: false, reason: expect.stringMatching(reason) });
    }
  });

  it('refuses an unknown access key', async () => {
    const token = await mint('prod', { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: SECRET });
    expect(verifyEksToken(token, expectFor('prod'))).toEqual({
      ok: false,
      reason: 'unknown access key id "AKIDUNKNOWN"',
    });
  });

  it('never puts the token, its signature or the session token in a reason', async () => {
    const token = await mint('dev', SESSION_CREDS);
    const signature = new URL(decode(token)).searchParams.get('X-Amz-Signature') ?? '';
    const verdicts = [
      verifyEksToken(token, expectFor('prod')),
      verifyEksToken(token, expectFor('dev', new Date(NOW.getTime() + 16 * MINUTE))),
      verifyEksToken(token, { ...expectFor('dev'), secretAccessKeyFor: () => undefined }),
      verifyEksToken(token.replace('k8s-aws-v1.', 'k8s-aws-v0.'), expectFor('dev')),
    ];
    for (const verdict of verdicts) {
      expect(verdict.ok).toBe(false);
      const reason = verdict.ok ? '' : verdict.reason;
      expect(reason).not.toContain(token.slice('k8s-aws-v1.'.length, 40));
      expect(reason).not.toContain(signature);
      expect(reason).not.toContain('IQoJb3JpZ2lu');
      expect(reason.length).toBeLessThan(200);
    }
  });
});

describe('EksTokenCache', () => {
  function clockAt(start: Date) {
    let now = start.getTime();
    return { now: () => new Date(now), advance: (ms: number) => (now += ms) };
  }
  const input = { clusterName: 'prod', region: 'us-west-2', credentials: CREDS };

  it('reuses a token until 14 minutes, then mints a new one', async () => {
    const clock = clockAt(NOW);
    const cache = new EksTokenCache({ now: clock.now });
    const first = await cache.get(input);
    clock.advance(14 * MINUTE - 1000);
    expect(await cache.get(input)).toBe(first);
    clock.advance(1000);
    const renewed = await cache.get(input);
    expect(renewed.token).not.toBe(first.token);
    expect(decode(renewed.token)).toContain('X-Amz-Date=20260301T121400Z');
    expect(renewed.expiresAt.toISOString()).toBe('2026-03-01T12:28:00.000Z');
    expect(verifyEksToken(renewed.token, expectFor('prod', clock.now())).ok).toBe(true);
  });

  it('keys by cluster, region and access key id, and shares one signing between concurrent callers', async () => {
    const cache = new EksTokenCache({ now: () => NOW });
    const [a, b] = await Promise.all([cache.get(input), cache.get(input)]);
    expect(a).toBe(b);
    const others = await Promise.all([
      cache.get({ ...input, clusterName: 'dev' }),
      cache.get({ ...input, region: 'eu-west-1' }),
      cache.get({ ...input, credentials: { ...CREDS, accessKeyId: 'AKIDOTHER' } }),
    ]);
    expect(new Set([a.token, ...others.map((t) => t.token)]).size).toBe(4);
    expect(cache.size).toBe(4);
  });

  it('does not reuse a token past the expiration of the temporary credentials that signed it', async () => {
    const clock = clockAt(NOW);
    const cache = new EksTokenCache({ now: clock.now });
    const credentials = { ...SESSION_CREDS, expiration: new Date(NOW.getTime() + 5 * MINUTE) };
    const first = await cache.get({ ...input, credentials });
    clock.advance(5 * MINUTE);
    const fresh = { ...SESSION_CREDS, expiration: new Date(NOW.getTime() + 60 * MINUTE) };
    expect((await cache.get({ ...input, credentials: fresh })).token).not.toBe(first.token);
  });

  it('forgets a failed signing so the next call retries', async () => {
    const cache = new EksTokenCache({ now: () => NOW });
    await expect(cache.get({ ...input, region: 'not a region' })).rejects.toThrow();
    await Promise.resolve();
    expect(cache.size).toBe(0);
  });
});

describe('byte-for-byte against the independent Python reference (botocore algorithm)', () => {
  function pythonToken(args: {
    region: string;
    clusterName: string;
    timestamp: string;
    sessionToken?: string;
  }): string {
    const argv = [
      REFERENCE_SCRIPT,
      '--access-key-id',
      ACCESS_KEY_ID,
      '--secret-access-key',
      SECRET,
      '--region',
      args.region,
      '--cluster-name',
      args.clusterName,
      '--timestamp',
      args.timestamp,
      ...(args.sessionToken ? ['--session-token', args.sessionToken] : []),
    ];
    const run = spawnSync('python3', argv, { encoding: 'utf8' });
    if (run.error) {
      throw new Error(
        `could not run python3 for the EKS token reference test (${run.error.message}); ` +
          'install python3 (standard library only) and put it on PATH',
      );
    }
    if (run.status !== 0) throw new Error(`eks-token-reference.py exited ${run.status}: ${run.stderr}`);
    return run.stdout.trimEnd();
  }

  const cases = [
    { region: 'us-west-2', clusterName: 'prod', timestamp: '2026-03-01T12:00:00Z' },
    {
      region: 'us-west-2',
      clusterName: 'prod',
      timestamp: '2026-03-01T12:00:00Z',
      sessionToken: SESSION_TOKEN,
    },
    { region: 'eu-central-1', clusterName: 'team_a-staging-2', timestamp: '2026-11-22T03:04:05.678Z' },
    {
      region: 'eu-central-1',
      clusterName: 'team_a-staging-2',
      timestamp: '2026-11-22T03:04:05.678Z',
      sessionToken: SESSION_TOKEN,
    },
  ];

  it.each(cases)('$region $clusterName, session token: $sessionToken', async (c) => {
    const reference = pythonToken(c);
    const ours = await createEksToken({
      clusterName: c.clusterName,
      region: c.region,
      credentials: c.sessionToken ? { ...CREDS, sessionToken: c.sessionToken } : CREDS,
      now: new Date(c.timestamp),
    });
    expect(reference.startsWith('k8s-aws-v1.')).toBe(true);
    expect(ours.token).toBe(reference);
    expect(Buffer.from(ours.token, 'utf8').equals(Buffer.from(reference, 'utf8'))).toBe(true);
  });
});
