import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../model/fleet.ts';
import { describeCheck, runCheck } from '../../testing/check-harness.ts';
import { type HealthyIrsa, healthyIrsa, healthyWith } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const ROLE_ARN = 'arn:aws:iam::111122223333:role/demo-api';

function probe(outcome: ProbeResult['outcome'], extra: Partial<ProbeResult> = {}): ProbeResult {
  return {
    namespace: 'shop',
    serviceAccount: 'api',
    roleArn: ROLE_ARN,
    audience: 'sts.amazonaws.com',
    outcome,
    errorCode: null,
    message: null,
    assumedRoleArn:
      outcome === 'pass' ? 'arn:aws:sts::111122223333:assumed-role/demo-api/irsa-audit-probe' : null,
    ...extra,
  };
}

const probed = (...results: ProbeResult[]) =>
  healthyWith((h: HealthyIrsa) => {
    h.cluster.cluster.probes = results;
  });

const api = { cluster: 'demo', namespace: 'shop', serviceAccount: 'api' };

describeCheck(check, {
  pass: [
    { name: 'STS issued credentials for the service account', fleet: probed(probe('pass')) },
    {
      name: 'a probe that could not complete is no failure',
      fleet: probed(probe('pass'), probe('error', { serviceAccount: 'web', errorCode: 'ECONNREFUSED' })),
    },
  ],
  fail: [
    {
      name: 'no OIDC provider for the issuer: the provider is the fix',
      fleet: probed(
        probe('fail', {
          errorCode: 'InvalidIdentityToken',
          message:
            'No OpenIDConnect provider found in your account for https://oidc.eks.us-west-2.amazonaws.com/id/X',
        }),
      ),
      expect: [api],
      mentions: [
        '"errorCode":"InvalidIdentityToken"',
        'No OpenIDConnect provider found',
        'eksctl utils associate-iam-oidc-provider --cluster demo --region us-west-2 --approve',
      ],
    },
    {
      name: 'a role in another account: the provider is created there',
      fleet: probed(
        probe('fail', {
          roleArn: 'arn:aws:iam::444455556666:role/lake',
          errorCode: 'InvalidIdentityToken',
          message: 'No OpenIDConnect provider found in your account for https://oidc.eks...',
        }),
      ),
      expect: [api],
      mentions: [
        '# in account 444455556666',
        'aws iam create-open-id-connect-provider --url https://oidc.eks.us-west-2',
      ],
    },
    {
      name: 'an audience the provider does not list: add the client id',
      fleet: probed(
        probe('fail', {
          audience: 'vault',
          errorCode: 'InvalidIdentityToken',
          message: 'Incorrect token audience',
        }),
      ),
      expect: [api],
      mentions: [
        'add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/',
        '--client-id vault',
      ],
    },
    {
      name: 'a trust policy that does not admit the token: the trust is the fix',
      fleet: probed(
        probe('fail', {
          errorCode: 'AccessDenied',
          message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity',
        }),
      ),
      expect: [api],
      mentions: [
        '"errorCode":"AccessDenied"',
        'aws iam update-assume-role-policy --role-name demo-api',
        'system:serviceaccount:shop:api',
        'kubectl --context demo create token api -n shop --audience sts.amazonaws.com',
      ],
    },
    {
      name: 'one finding per refused service account, none for those that passed',
      fleet: probed(
        probe('pass'),
        probe('fail', { serviceAccount: 'web', errorCode: 'AccessDenied' }),
        probe('fail', { namespace: 'ops', serviceAccount: 'cron', errorCode: 'ExpiredTokenException' }),
      ),
      expect: [
        { cluster: 'demo', namespace: 'shop', serviceAccount: 'web' },
        { cluster: 'demo', namespace: 'ops', serviceAccount: 'cron' },
      ],
    },
  ],
  notEvaluated: [
    { name: 'the cluster was not probed', fleet: () => healthyIrsa().fleet.build(), expect: [api] },
    {
      name: 'the probe could not complete (not an STS answer)',
      fleet: probed(probe('error', { errorCode: 'NotFound', message: 'serviceaccounts "api" not found' })),
      expect: [api],
    },
    {
      name: 'an annotated service account the probe has no result for',
      fleet: probed(probe('pass', { serviceAccount: 'other' })),
      expect: [api],
    },
  ],
});

describe('IRSA-040 findings', () => {
  it("carry STS's code and message, and the session ARN on a pass", () => {
    const failed = runCheck(
      check,
      probed(probe('fail', { errorCode: 'AccessDenied', message: 'Not authorized to perform it' }))(),
    );
    expect(failed[0]).toMatchObject({
      status: 'fail',
      evidence: { errorCode: 'AccessDenied', stsMessage: 'Not authorized to perform it', roleArn: ROLE_ARN },
    });
    expect(failed[0]?.message).toContain('AccessDenied (Not authorized to perform it)');
    const passed = runCheck(check, probed(probe('pass'))());
    expect(passed[0]?.evidence).toMatchObject({
      assumedRoleArn: expect.stringContaining('assumed-role/demo-api/'),
    });
  });
});
