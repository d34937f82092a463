import { describe, expect, it } from 'vitest';
import type { Pod } from '../model/fleet.ts';
import { workloadOf } from './audit-context.ts';

function pod(owner: Pod['owner'], labels: Record<string, string> = {}): Pod {
  return {
    namespace: 'ns',
    name: 'p-1',
    serviceAccountName: 'default',
    phase: 'Running',
    creationTimestamp: null,
    labels,
    annotations: {},
    owner,
    containers: [],
    volumes: [],
  };
}

describe('workloadOf', () => {
  it.each([
    ['a bare pod', null, {}, { kind: 'Pod', name: 'p-1' }],
    [
      'a mirror pod owned by its node',
      { kind: 'Node', name: 'ip-10-0-0-1' },
      {},
      { kind: 'Pod', name: 'p-1' },
    ],
    [
      'a Deployment through its ReplicaSet',
      { kind: 'ReplicaSet', name: 'api-7d9f8b6c5d' },
      { 'pod-template-hash': '7d9f8b6c5d' },
      { kind: 'Deployment', name: 'api' },
    ],
    [
      'a Deployment whose labels were trimmed',
      { kind: 'ReplicaSet', name: 'web-api-5c8bd96bf4' },
      {},
      { kind: 'Deployment', name: 'web-api' },
    ],
    [
      'a bare ReplicaSet (hash label does not match)',
      { kind: 'ReplicaSet', name: 'legacy-rs' },
      { 'pod-template-hash': 'zzz' },
      { kind: 'ReplicaSet', name: 'legacy-rs' },
    ],
    [
      'a CronJob through its Job',
      { kind: 'Job', name: 'nightly-29000000' },
      {},
      { kind: 'CronJob', name: 'nightly' },
    ],
    ['a plain Job', { kind: 'Job', name: 'migrate-db' }, {}, { kind: 'Job', name: 'migrate-db' }],
    ['a StatefulSet', { kind: 'StatefulSet', name: 'db' }, {}, { kind: 'StatefulSet', name: 'db' }],
  ])('%s', (_name, owner, labels, expected) => {
    expect(workloadOf(pod(owner, labels))).toEqual(expected);
  });
});
