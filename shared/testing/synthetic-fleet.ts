/**
 * Writes a synthetic fleet snapshot (the directory layout `check` and the emulator read,
 * docs/snapshot-format.md) for the benchmarks: every account with the same shape, every cluster
 * healthy by default (an OIDC provider, the pod identity webhook, ServiceAccounts annotated with roles that
 * trust exactly them, pods mutated by the webhook), public endpoints. Used by
 * bench/collection.bench.ts and bench/fan-out.bench.ts.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { base64, irsaTrustPolicy, oidcIdFor } from './fleet-builder.ts';
import { CLUSTER_CA_A_PEM } from './test-certificates.ts';

export interface SyntheticFleetShape {
  readonly accounts: number;
  readonly regions: readonly string[];
  readonly clustersPerRegion: number;
  /** ServiceAccounts per cluster, each annotated with a role. */
  readonly serviceAccounts: number;
  /** Pods per cluster, spread over the ServiceAccounts, each mutated by the webhook. */
  readonly pods: number;
  /** Service accounts sharing one role. */
  readonly serviceAccountsPerRole: number;
  /**
   * The first this many ServiceAccounts of each cluster (and their pods) name a role that does not
   * exist (IRSA-011 each): findings that depend on the account's IAM. Default 0: a healthy fleet.
   */
  readonly missingRoles?: number;
  /**
   * Each role also has one inline policy, and the roles of each cluster share one customer-managed
   * policy (2 versions), with their documents: what the collector reads for IRSA-023. Default off.
   */
  readonly policyDocuments?: boolean;
  /**
   * The first cluster of each region runs a self-managed pod identity webhook (called through
   * Service `irsa-system/pod-identity-webhook`, two ready endpoints) instead of EKS's: what the
   * collector reads for IRSA-064 (one GET of the Service, one list of its EndpointSlices). Default off.
   */
  readonly selfManagedWebhooks?: boolean;
  /**
   * Managed node groups per cluster (nodegroups.json, IRSA-060/061), default 0 (none listed). Each
   * cluster has its own node role (the three worker-node policies); node group g of every cluster of
   * a region runs launch template g % `launchTemplatesPerRegion` of that account and region, at
   * version 1 or 2 by the cluster (so one template is read with two versions at once).
   */
  readonly nodeGroups?: number;
  readonly launchTemplatesPerRegion?: number;
}

/** The launch template id of template `t` of an account and region (17 hex digits, as EC2's). */
export const syntheticTemplateId = (account: string, region: string, t: number) =>
  `lt-0${oidcIdFor(`${account}/${region}/lt/${t}`).slice(0, 16).toLowerCase()}`;

const EC2_TRUST = {
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
};

/** nodegroups.json of a synthetic cluster: its node groups, and both versions of the templates they run. */
function nodegroupsFile(
  account: string,
  region: string,
  name: string,
  c: number,
  shape: SyntheticFleetShape,
) {
  const groups = shape.nodeGroups ?? 0;
  const templates = Math.max(1, shape.launchTemplatesPerRegion ?? 1);
  const used = new Set<number>();
  const described = Array.from({ length: groups }, (_, g) => {
    used.add(g % templates);
    return {
      nodegroup: {
        nodegroupName: `ng-${g}`,
        clusterName: name,
        status: 'ACTIVE',
        nodeRole: `arn:aws:iam::${account}:role/${name}-nodes`,
        amiType: 'AL2_x86_64',
        launchTemplate: {
          id: syntheticTemplateId(account, region, g % templates),
          name: `${region}-lt-${g % templates}`,
          version: String((c % 2) + 1),
        },
      },
    };
  });
  const launchTemplateVersions = [...used].flatMap((t) =>
    [1, 2].map((VersionNumber) => ({
      LaunchTemplateId: syntheticTemplateId(account, region, t),
      LaunchTemplateName: `${region}-lt-${t}`,
      VersionNumber,
      DefaultVersion: VersionNumber === 1,
      LaunchTemplateData: {
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
      },
    })),
  );
  return { nodegroups: described.map((d) => d.nodegroup.nodegroupName), described, launchTemplateVersions };
}

/** Whether cluster `c` of a region runs the self-managed webhook (see SyntheticFleetShape). */
export const hasSelfManagedWebhook = (shape: SyntheticFleetShape, c: number) =>
  shape.selfManagedWebhooks === true && c === 0;

/** A small permission document (the documents' content does not matter to the benchmarks). */
function permissionDocument(resource: string): Record<string, unknown> {
  return {
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: ['s3:GetObject', 's3:PutObject'], Resource: `${resource}/*` }],
  };
}

/** The id of the synthetic fleet's account number `a` (from 0). */
export const syntheticAccountId = (a: number) => String(100000000000 + a * 1111);

/** Writes the fleet under `dir`: `<account>/iam.json`, `<account>/<region>/<cluster>/{cluster,kubernetes}.json`. */
export async function writeSyntheticFleet(dir: string, shape: SyntheticFleetShape): Promise<void> {
  for (let a = 0; a < shape.accounts; a++) {
    const account = syntheticAccountId(a);
    const roles: unknown[] = [];
    const providers: unknown[] = [];
    const rolePolicies: Record<string, unknown> = {};
    const policies: unknown[] = [];
    for (const region of shape.regions) {
      for (let c = 0; c < shape.clustersPerRegion; c++) {
        const name = `cluster-${region}-${c}`;
        const issuer = `oidc.eks.${region}.amazonaws.com/id/${oidcIdFor(`${account}/${region}/${name}`)}`;
        const provider = `arn:aws:iam::${account}:oidc-provider/${issuer}`;
        providers.push({
          Arn: provider,
          Url: issuer,
          ClientIDList: ['sts.amazonaws.com'],
          ThumbprintList: [],
        });
        const sas = Array.from({ length: shape.serviceAccounts }, (_, i) => ({
          ns: `ns-${i % 20}`,
          name: `sa-${i}`,
        }));
        const roleCount = Math.ceil(shape.serviceAccounts / shape.serviceAccountsPerRole);
        const sharedPolicy = `arn:aws:iam::${account}:policy/${name}-shared`;
        if (shape.policyDocuments) {
          policies.push({
            PolicyName: `${name}-shared`,
            Arn: sharedPolicy,
            DefaultVersionId: 'v2',
            PolicyVersionList: ['v2', 'v1'].map((VersionId) => ({
              Document: permissionDocument(`arn:aws:s3:::${name}-${VersionId}`),
              VersionId,
              IsDefaultVersion: VersionId === 'v2',
            })),
          });
        }
        for (let r = 0; r < roleCount; r++) {
          const subjects = sas
            .filter((_, i) => i % roleCount === r)
            .map((sa) => `system:serviceaccount:${sa.ns}:${sa.name}`);
          const roleName = `${name}-role-${r}`;
          roles.push({
            RoleName: roleName,
            Arn: `arn:aws:iam::${account}:role/${roleName}`,
            AssumeRolePolicyDocument: irsaTrustPolicy(provider, issuer, subjects),
          });
          rolePolicies[roleName] = shape.policyDocuments
            ? {
                AttachedPolicies: [
                  { PolicyName: 'p', PolicyArn: 'arn:aws:iam::aws:policy/p' },
                  { PolicyName: `${name}-shared`, PolicyArn: sharedPolicy },
                ],
                PolicyNames: [`${roleName}-inline`],
                RolePolicyList: [
                  {
                    PolicyName: `${roleName}-inline`,
                    PolicyDocument: permissionDocument(`arn:aws:s3:::${roleName}`),
                  },
                ],
              }
            : {
                AttachedPolicies: [{ PolicyName: 'p', PolicyArn: 'arn:aws:iam::aws:policy/p' }],
                PolicyNames: [],
              };
        }
        /** The role ServiceAccount i and its pods name. */
        const roleArn = (i: number) =>
          i < (shape.missingRoles ?? 0)
            ? `arn:aws:iam::${account}:role/${name}-missing-role-${i}`
            : `arn:aws:iam::${account}:role/${name}-role-${i % roleCount}`;
        const items: unknown[] = sas.map((sa, i) => ({
          apiVersion: 'v1',
          kind: 'ServiceAccount',
          metadata: {
            namespace: sa.ns,
            name: sa.name,
            annotations: {
              'eks.amazonaws.com/role-arn': roleArn(i),
            },
          },
        }));
        for (let p = 0; p < shape.pods; p++) {
          const i = p % shape.serviceAccounts;
          const sa = sas[i];
          if (!sa) continue;
          items.push({
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
              namespace: sa.ns,
              name: `${sa.name}-7d9f8b6c5d-p${p}`,
              labels: { 'pod-template-hash': '7d9f8b6c5d' },
              ownerReferences: [{ kind: 'ReplicaSet', name: `${sa.name}-7d9f8b6c5d`, controller: true }],
            },
            spec: {
              serviceAccountName: sa.name,
              containers: [
                {
                  name: 'app',
                  env: [
                    {
                      name: 'AWS_ROLE_ARN',
                      value: roleArn(i),
                    },
                    {
                      name: 'AWS_WEB_IDENTITY_TOKEN_FILE',
                      value: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
                    },
                  ],
                },
              ],
              volumes: [
                {
                  name: 'aws-iam-token',
                  projected: { sources: [{ serviceAccountToken: { audience: 'sts.amazonaws.com' } }] },
                },
              ],
            },
            status: { phase: 'Running' },
          });
        }
        if (hasSelfManagedWebhook(shape, c)) {
          const service = { namespace: 'irsa-system', name: 'pod-identity-webhook' };
          items.push(
            {
              apiVersion: 'admissionregistration.k8s.io/v1',
              kind: 'MutatingWebhookConfiguration',
              metadata: { name: 'pod-identity-webhook' },
              webhooks: [
                {
                  name: 'iam-for-pods.amazonaws.com',
                  clientConfig: { caBundle: base64(CLUSTER_CA_A_PEM), service },
                  failurePolicy: 'Fail',
                },
              ],
            },
            {
              apiVersion: 'v1',
              kind: 'Service',
              metadata: service,
              spec: { type: 'ClusterIP', selector: { app: service.name } },
            },
            {
              apiVersion: 'discovery.k8s.io/v1',
              kind: 'EndpointSlice',
              metadata: {
                ...service,
                name: `${service.name}-x7k2p`,
                labels: { 'kubernetes.io/service-name': service.name },
              },
              endpoints: [0, 1].map((i) => ({
                addresses: [`10.0.0.${10 + i}`],
                conditions: { ready: true },
                targetRef: { kind: 'Pod', name: `${service.name}-6c9d7f8b5-w${i}` },
              })),
            },
          );
        } else {
          items.push({
            apiVersion: 'admissionregistration.k8s.io/v1',
            kind: 'MutatingWebhookConfiguration',
            metadata: { name: 'pod-identity-webhook' },
            webhooks: [
              { name: 'iam-for-pods.amazonaws.com', clientConfig: { caBundle: base64(CLUSTER_CA_A_PEM) } },
            ],
          });
        }
        const clusterDir = join(dir, account, region, name);
        await mkdir(clusterDir, { recursive: true });
        if ((shape.nodeGroups ?? 0) > 0) {
          roles.push({
            RoleName: `${name}-nodes`,
            Arn: `arn:aws:iam::${account}:role/${name}-nodes`,
            AssumeRolePolicyDocument: EC2_TRUST,
          });
          rolePolicies[`${name}-nodes`] = {
            AttachedPolicies: [
              'AmazonEKSWorkerNodePolicy',
              'AmazonEC2ContainerRegistryReadOnly',
              'AmazonEKS_CNI_Policy',
            ].map((PolicyName) => ({ PolicyName, PolicyArn: `arn:aws:iam::aws:policy/${PolicyName}` })),
            PolicyNames: [],
          };
          await writeFile(
            join(clusterDir, 'nodegroups.json'),
            JSON.stringify(nodegroupsFile(account, region, name, c, shape)),
          );
        }
        await writeFile(
          join(clusterDir, 'cluster.json'),
          JSON.stringify({
            cluster: {
              name,
              arn: `arn:aws:eks:${region}:${account}:cluster/${name}`,
              endpoint: 'https://example.invalid',
              identity: { oidc: { issuer: `https://${issuer}` } },
              certificateAuthority: { data: base64(CLUSTER_CA_A_PEM) },
              status: 'ACTIVE',
            },
          }),
        );
        await writeFile(
          join(clusterDir, 'kubernetes.json'),
          JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
        );
      }
    }
    await writeFile(
      join(dir, account, 'iam.json'),
      JSON.stringify({
        Roles: roles,
        OpenIDConnectProviders: providers,
        RolePolicies: rolePolicies,
        ...(shape.policyDocuments ? { Policies: policies } : {}),
      }),
    );
  }
}
