/**
 * `irsa-audit enroll --cluster NAME`: grants the audit role read access to one cluster. Run by an
 * administrator (it writes: an EKS access entry and the auditor's ClusterRole/Binding); the
 * auditor itself never writes. `--dry-run` prints every step instead of doing it.
 */

import {
  CreateAccessEntryCommand,
  DescribeClusterCommand,
  InvalidParameterException,
  InvalidRequestException,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateAccessEntryCommand,
} from '@aws-sdk/client-eks';
import {
  ApiException,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
} from '@kubernetes/client-node';
import { EksTokenCache } from '#shared/aws/eks-token.ts';
import { AwsClients } from '#shared/collectors/aws-clients.ts';
import { AUDITOR_GROUP, auditorRbac, auditorRbacYaml } from '#shared/collectors/rbac.ts';
import { sh } from '#shared/sinks/shell.ts';
import { EnrollError } from './errors.ts';

export interface EnrollOptions {
  cluster: string;
  region: string;
  /** The audit role (or any principal) to grant, e.g. arn:aws:iam::111122223333:role/irsa-auditor. */
  principalArn: string;
  probe?: boolean;
  dryRun?: boolean;
}

export { EnrollError };

/** The exact commands an administrator would run by hand. */
export function enrollPlan(options: EnrollOptions): string {
  const file = options.probe ? 'irsa-auditor-rbac-probe.yaml' : 'irsa-auditor-rbac.yaml';
  return [
    `# 1. the cluster must accept access entries (authentication mode API or API_AND_CONFIG_MAP):`,
    sh`aws eks describe-cluster --name ${options.cluster} --region ${options.region} --query cluster.accessConfig.authenticationMode`,
    sh`#    if it says CONFIG_MAP: aws eks update-cluster-config --name ${options.cluster} --region ${options.region} --access-config authenticationMode=API_AND_CONFIG_MAP`,
    `# 2. map the audit role to the Kubernetes group ${AUDITOR_GROUP} (no access policy: RBAC below decides):`,
    sh`aws eks create-access-entry --cluster-name ${options.cluster} --region ${options.region} --principal-arn ${options.principalArn} --kubernetes-groups ${AUDITOR_GROUP}`,
    `# 3. give that group read access to exactly what the auditor reads (deploy/kubernetes/${file}):`,
    `${sh`kubectl --context ${options.cluster}`} apply -f - <<'YAML'`,
    auditorRbacYaml({ probe: options.probe }).trimEnd(),
    'YAML',
  ].join('\n');
}

function configMapOnly(options: EnrollOptions): EnrollError {
  return new EnrollError(
    `cluster ${options.cluster} only accepts the aws-auth ConfigMap; switch it first:\n${sh`aws eks update-cluster-config --name ${options.cluster} --region ${options.region}`} --access-config authenticationMode=API_AND_CONFIG_MAP`,
  );
}

/** EKS's refusals of the access entry, as errors that name the cluster and what to do. */
function accessEntryError(options: EnrollOptions, error: unknown): unknown {
  if (error instanceof InvalidRequestException && /authentication mode/i.test(error.message)) {
    return configMapOnly(options);
  }
  if (error instanceof InvalidRequestException || error instanceof InvalidParameterException) {
    return new EnrollError(
      `cluster ${options.cluster} (${options.region}) refused the access entry for ${options.principalArn}: ${error.message}`,
    );
  }
  return error;
}

/** A Kubernetes API refusal as an error naming the cluster, the object and the API's reason (never the token). */
function kubernetesError(options: EnrollOptions, object: string, error: unknown): unknown {
  if (!(error instanceof ApiException)) return error;
  let reason = '';
  try {
    const status = JSON.parse(String(error.body)) as { reason?: string; message?: string };
    reason = [status.reason, status.message].filter(Boolean).join(': ');
  } catch {
    // not a Status object: the HTTP code says enough
  }
  return new EnrollError(
    `cluster ${options.cluster} refused to apply ${object}: HTTP ${error.code}${reason ? ` ${reason}` : ''} (run enroll with credentials that administer the cluster)`,
  );
}

export async function runEnrollCommand(
  options: EnrollOptions,
  io: { stdout: (text: string) => void; clients?: AwsClients },
): Promise<number> {
  if (!/^arn:aws[a-z-]*:(iam|sts)::\d{12}:/.test(options.principalArn)) {
    throw new EnrollError(`--principal-arn: "${options.principalArn}" is not an IAM principal ARN`);
  }
  if (options.dryRun) {
    io.stdout(`${enrollPlan(options)}\n`);
    return 0;
  }
  const clients = io.clients ?? new AwsClients();
  const eks = clients.eks(options.region);
  const described = await eks
    .send(new DescribeClusterCommand({ name: options.cluster }))
    .catch((error: unknown) => {
      if (!(error instanceof ResourceNotFoundException)) throw error;
      throw new EnrollError(
        `no EKS cluster ${options.cluster} in ${options.region} for the current AWS credentials: check --cluster and --region (aws eks list-clusters --region ${options.region})`,
      );
    });
  const mode = described.cluster?.accessConfig?.authenticationMode;
  if (mode === 'CONFIG_MAP') throw configMapOnly(options);
  const entry = {
    clusterName: options.cluster,
    principalArn: options.principalArn,
    kubernetesGroups: [AUDITOR_GROUP],
  };
  try {
    await eks.send(new CreateAccessEntryCommand(entry));
    io.stdout(`created the access entry for ${options.principalArn} (group ${AUDITOR_GROUP})\n`);
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw accessEntryError(options, error);
    await eks.send(new UpdateAccessEntryCommand(entry)).catch((failure: unknown) => {
      throw accessEntryError(options, failure);
    });
    io.stdout(`updated the existing access entry for ${options.principalArn} (group ${AUDITOR_GROUP})\n`);
  }
  const endpoint = described.cluster?.endpoint;
  const caData = described.cluster?.certificateAuthority?.data;
  if (!endpoint || !caData) throw new EnrollError(`cluster ${options.cluster} has no endpoint yet`);
  const credentials = await clients.resolveCredentials();
  const { token } = await new EksTokenCache().get({
    clusterName: options.cluster,
    region: options.region,
    credentials,
  });
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: options.cluster, server: endpoint, caData }],
    users: [{ name: 'admin', token }],
    contexts: [{ name: options.cluster, cluster: options.cluster, user: 'admin' }],
    currentContext: options.cluster,
  });
  const api = KubernetesObjectApi.makeApiClient(config);
  for (const object of auditorRbac({ probe: options.probe }) as KubernetesObject[]) {
    const name = `${object.kind}/${object.metadata?.name}`;
    try {
      await api.create(object);
      io.stdout(`created ${name}\n`);
    } catch (error) {
      if (!(error instanceof ApiException) || error.code !== 409) throw kubernetesError(options, name, error);
      await api.replace(object).catch((failure: unknown) => {
        throw kubernetesError(options, name, failure);
      });
      io.stdout(`replaced ${name}\n`);
    }
  }
  io.stdout(
    `cluster ${options.cluster} is enrolled: irsa-audit can now read it as ${options.principalArn}\n`,
  );
  return 0;
}
