/**
 * Pods of kubernetes.json: replicas whose containers are alike share their Container objects
 * (parse-files.ts, podContainers); any difference in a container's name or environment gives the
 * pod its own.
 */
import { describe, expect, it } from 'vitest';
import type { Pod } from '../model/fleet.ts';
import { parseKubernetesFile } from './parse-files.ts';

type Env = { name: string; value?: string | null; valueFrom?: unknown }[];

const IRSA_ENV: Env = [
  { name: 'AWS_ROLE_ARN', value: 'arn:aws:iam::111122223333:role/api' },
  { name: 'AWS_WEB_IDENTITY_TOKEN_FILE', value: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token' },
];

function pod(
  name: string,
  containers: { name: string; env?: Env }[],
  initContainers?: { name: string; env?: Env }[],
) {
  return {
    kind: 'Pod',
    metadata: { namespace: 'shop', name },
    spec: { serviceAccountName: 'api', containers, ...(initContainers ? { initContainers } : {}) },
  };
}

function parsePods(...items: unknown[]): readonly Pod[] {
  const result = parseKubernetesFile(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  if (!result.ok) throw new Error(JSON.stringify(result.problem));
  if (!result.value.pods) throw new Error('no pods');
  return result.value.pods;
}

describe('kubernetes.json: pods', () => {
  it('gives replicas with the same containers one set of Container objects, read as each pod would be', () => {
    const [a, b, c] = parsePods(
      pod('api-1', [{ name: 'app', env: IRSA_ENV }], [{ name: 'setup' }]),
      pod('api-2', [{ name: 'app', env: IRSA_ENV }], [{ name: 'setup' }]),
      pod('api-3', [{ name: 'app', env: IRSA_ENV.map((v) => ({ ...v })) }], [{ name: 'setup' }]),
    );
    expect(b?.containers).toBe(a?.containers);
    expect(c?.containers).toBe(a?.containers);
    expect(a?.containers.map((x) => [x.name, x.init])).toEqual([
      ['setup', true],
      ['app', false],
    ]);
    expect(a?.containers[1]?.env.get('AWS_ROLE_ARN')).toBe('arn:aws:iam::111122223333:role/api');
    // A literal's source is one shared object too.
    const sources = a?.containers[1]?.sources;
    expect(sources?.get('AWS_ROLE_ARN')).toBe(sources?.get('AWS_WEB_IDENTITY_TOKEN_FILE'));
    expect(sources?.get('AWS_ROLE_ARN')).toEqual({ kind: 'literal', name: null, key: null, optional: false });
  });

  it.each([
    ['a value', [{ name: 'app', env: [{ ...IRSA_ENV[0], value: 'arn:aws:iam::111122223333:role/other' }] }]],
    ['a variable', [{ name: 'app', env: [IRSA_ENV[0], { name: 'AWS_REGION', value: 'eu-west-1' }] }]],
    [
      'a valueFrom',
      [
        {
          name: 'app',
          env: [{ name: 'AWS_ROLE_ARN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
        },
      ],
    ],
    ['the container name', [{ name: 'sidecar', env: [IRSA_ENV[0]] }]],
    ['a second container', [{ name: 'app', env: [IRSA_ENV[0]] }, { name: 'proxy' }]],
  ])('gives a pod whose containers differ by %s its own', (_, containers) => {
    const [first, second] = parsePods(
      pod('api-1', [{ name: 'app', env: [IRSA_ENV[0] as Env[number]] }]),
      pod('api-2', containers as { name: string; env?: Env }[]),
    );
    expect(second?.containers).not.toBe(first?.containers);
    expect(first?.containers.map((c) => [c.name, Object.fromEntries(c.env)])).toEqual([
      ['app', { AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/api' }],
    ]);
    expect(second?.containers.map((c) => c.name)).toEqual(
      (containers as { name: string }[]).map((c) => c.name),
    );
  });

  it('does not share between pods whose init containers differ, nor across valueFrom references', () => {
    const ref = (key: string) => [{ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 'creds', key } } }];
    const [a, b, c] = parsePods(
      pod('job-1', [{ name: 'app', env: ref('one') }]),
      pod('job-2', [{ name: 'app', env: ref('two') }]),
      pod('job-3', [{ name: 'app', env: ref('two') }], [{ name: 'setup' }]),
    );
    expect(b?.containers).not.toBe(a?.containers);
    expect(c?.containers).not.toBe(b?.containers);
    expect(a?.containers[0]?.sources.get('TOKEN')?.key).toBe('one');
    expect(b?.containers[0]?.sources.get('TOKEN')?.key).toBe('two');
    expect(c?.containers.map((x) => x.name)).toEqual(['setup', 'app']);
  });
});
