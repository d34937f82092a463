/** `irsa-audit token`: ExecCredential output, region and credential errors, and the real CLI wiring. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AwsCredentialIdentity } from '@smithy/types';
import { afterAll, describe, expect, it } from 'vitest';
import { createEksToken, verifyEksToken } from '#shared/aws/eks-token.ts';
import { resolveTokenRegion, runTokenCommand, TokenCommandError } from '../cli/commands/token.ts';
import { runCli } from './support/run-cli.ts';

const CREDS: AwsCredentialIdentity = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const NOW = new Date('2026-03-01T12:00:00.250Z');

async function run(options: { cluster: string; region: string }, credentials = async () => CREDS) {
  let out = '';
  await runTokenCommand(options, { stdout: (text) => (out += text), now: NOW, credentials });
  return out;
}

describe('runTokenCommand', () => {
  it('prints the ExecCredential JSON of `aws eks get-token`', async () => {
    const out = await run({ cluster: 'prod', region: 'us-west-2' });
    expect(out.endsWith('\n')).toBe(true);
    const expected = await createEksToken({
      clusterName: 'prod',
      region: 'us-west-2',
      credentials: CREDS,
      now: NOW,
    });
    expect(JSON.parse(out)).toEqual({
      kind: 'ExecCredential',
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      spec: {},
      status: { expirationTimestamp: '2026-03-01T12:14:00Z', token: expected.token },
    });
    expect(out).toBe(
      `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{},"status":{"expirationTimestamp":"2026-03-01T12:14:00Z","token":"${expected.token}"}}\n`,
    );
    const verdict = verifyEksToken(JSON.parse(out).status.token, {
      clusterName: 'prod',
      secretAccessKeyFor: () => CREDS.secretAccessKey,
      now: NOW,
    });
    expect(verdict).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE' });
  });

  it('reports a credential provider failure as "no AWS credentials found (...)"', async () => {
    const failing = async (): Promise<AwsCredentialIdentity> => {
      throw new Error('Could not load credentials from any providers');
    };
    const attempt = run({ cluster: 'prod', region: 'us-west-2' }, failing);
    await expect(attempt).rejects.toBeInstanceOf(TokenCommandError);
    await expect(attempt).rejects.toThrow(
      'no AWS credentials found (Could not load credentials from any providers)',
    );
  });

  it('reports a bad region as a TokenCommandError', async () => {
    await expect(run({ cluster: 'prod', region: 'us west' })).rejects.toBeInstanceOf(TokenCommandError);
  });
});

describe('resolveTokenRegion', () => {
  it('prefers --region, then AWS_REGION, then AWS_DEFAULT_REGION', () => {
    const env = { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'us-east-2' };
    expect(resolveTokenRegion('ap-south-1', env)).toBe('ap-south-1');
    expect(resolveTokenRegion(undefined, env)).toBe('eu-west-1');
    expect(resolveTokenRegion(undefined, { AWS_DEFAULT_REGION: 'us-east-2' })).toBe('us-east-2');
    expect(() => resolveTokenRegion(undefined, {})).toThrow('no AWS region: pass --region or set AWS_REGION');
  });
});

describe('irsa-audit token (the real CLI)', () => {
  const home = mkdtempSync(join(tmpdir(), 'irsa-audit-token-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  // No credentials or region from the machine running the tests: env, files, SSO, web identity, ECS, IMDS.
  const isolated = {
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'missing-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'missing-credentials'),
    AWS_PROFILE: '',
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_SESSION_TOKEN: '',
    AWS_WEB_IDENTITY_TOKEN_FILE: '',
    AWS_ROLE_ARN: '',
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
    AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_REGION: '',
    AWS_DEFAULT_REGION: '',
  };

  it('prints a token verifiable for the cluster, using credentials from the default chain', () => {
    const result = runCli(['token', '--cluster', 'prod'], {
      env: {
        ...isolated,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: CREDS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDS.secretAccessKey,
      },
    });
    expect(result.status).toBe(0);
    const credential = JSON.parse(result.stdout);
    expect(credential.kind).toBe('ExecCredential');
    expect(credential.status.expirationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const verdict = verifyEksToken(credential.status.token, {
      clusterName: 'prod',
      secretAccessKeyFor: () => CREDS.secretAccessKey,
      now: new Date(),
    });
    expect(verdict).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE' });
    expect(Buffer.from(credential.status.token.slice(11), 'base64url').toString()).toContain(
      'https://sts.eu-west-1.amazonaws.com/',
    );
    expect(result.stderr).not.toContain(credential.status.token);
  });

  it('exits 2 with a clear message when no region is set', () => {
    const result = runCli(['token', '--cluster', 'prod'], { env: isolated });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('irsa-audit: no AWS region: pass --region or set AWS_REGION');
    expect(result.stdout).toBe('');
  });

  it('exits 2 with a clear message when no credentials are found', () => {
    const result = runCli(['token', '--cluster', 'prod', '--region', 'us-west-2'], { env: isolated });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/irsa-audit: no AWS credentials found \(.+\)/);
    expect(result.stdout).toBe('');
  });

  it('exits 2 when --cluster is missing', () => {
    const result = runCli(['token', '--region', 'us-west-2'], { env: isolated });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--cluster <name>/);
  });
});
