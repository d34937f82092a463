/** The auditor's in-cluster permissions: read-only, exactly what it lists, and the manifests are current. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { auditorRbac, auditorRbacYaml } from '#shared/collectors/rbac.ts';
import { REPO_ROOT, runCli } from './support/run-cli.ts';

type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
const rulesOf = (objects: Record<string, unknown>[]) =>
  objects.filter((o) => o.kind === 'ClusterRole').flatMap((o) => o.rules as Rule[]);
const grants = (rules: Rule[]) =>
  rules
    .flatMap((r) =>
      r.resources.flatMap((res) => r.verbs.map((v) => `${r.apiGroups[0] || 'core'}/${res}:${v}`)),
    )
    .sort();

describe('auditor RBAC', () => {
  it('grants get and list on serviceaccounts, pods and mutatingwebhookconfigurations, list on namespaces and endpointslices, get on services, nothing else', () => {
    expect(grants(rulesOf(auditorRbac()))).toEqual([
      'admissionregistration.k8s.io/mutatingwebhookconfigurations:get',
      'admissionregistration.k8s.io/mutatingwebhookconfigurations:list',
      'core/namespaces:list',
      'core/pods:get',
      'core/pods:list',
      'core/serviceaccounts:get',
      'core/serviceaccounts:list',
      'core/services:get',
      'discovery.k8s.io/endpointslices:list',
    ]);
  });

  it('adds create on serviceaccounts/token only when the probe is enabled', () => {
    const extra = grants(rulesOf(auditorRbac({ probe: true }))).filter(
      (g) => !grants(rulesOf(auditorRbac())).includes(g),
    );
    expect(extra).toEqual(['core/serviceaccounts/token:create']);
  });

  it('binds the roles to the group of the access entry, not to users', () => {
    const bindings = auditorRbac({ probe: true }).filter((o) => o.kind === 'ClusterRoleBinding');
    for (const b of bindings)
      expect(b.subjects).toEqual([
        { apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'irsa-auditor' },
      ]);
  });

  it.each([
    ['irsa-auditor-rbac.yaml', false],
    ['irsa-auditor-rbac-probe.yaml', true],
  ])(
    'deploy/kubernetes/%s is generated from the code (npx tsx scripts/make-rbac-manifests.ts)',
    (file, probe) => {
      const onDisk = readFileSync(join(REPO_ROOT, 'deploy/kubernetes', file), 'utf8');
      expect(onDisk).toBe(auditorRbacYaml({ probe }));
      expect(parseAllDocuments(onDisk).map((d) => d.toJS())).toEqual(auditorRbac({ probe }));
    },
  );
});

describe('irsa-audit enroll --dry-run', () => {
  it('prints the access entry command and the manifest', () => {
    const run = runCli([
      'enroll',
      '--cluster',
      'prod',
      '--region',
      'eu-west-1',
      '--principal-arn',
      'arn:aws:iam::111122223333:role/irsa-auditor',
      '--dry-run',
    ]);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      'aws eks create-access-entry --cluster-name prod --region eu-west-1 --principal-arn arn:aws:iam::111122223333:role/irsa-auditor --kubernetes-groups irsa-auditor',
    );
    expect(run.stdout).toContain('kind: ClusterRoleBinding');
    expect(run.stdout).not.toContain('serviceaccounts/token');
  });

  it('refuses a principal that is not an IAM ARN', () => {
    const run = runCli([
      'enroll',
      '--cluster',
      'prod',
      '--region',
      'eu-west-1',
      '--principal-arn',
      'irsa-auditor',
      '--dry-run',
    ]);
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/--principal-arn: "irsa-auditor" is not an IAM principal ARN/);
  });
});
