/**
 * What a failed read means and how to fix it, by failure class (docs/checks.md, "Coverage"): one
 * wording for AUDIT-001, 002 and 003, so that each class has its own message and fix wherever it
 * is reported. The class comes from the collector (collectors/failures.ts); an older snapshot
 * without one is classified here from its code.
 */
import { classOf } from '../collectors/failures.ts';
import { operationOf } from '../engine/coverage.ts';
import type { CollectionError, FailureClass } from '../model/fleet.ts';
import { sh, shellWord } from '../sinks/shell.ts';

/** Where the failed read was, for the fix commands. */
export interface FailurePlace {
  readonly accountId: string;
  readonly region?: string | null;
  readonly cluster?: string | null;
}

export interface FailureAdvice {
  /** `eks:ListPodIdentityAssociations denied (AccessDeniedException: ...)`. */
  readonly summary: string;
  /** Why, in words. */
  readonly cause: string;
  /** The exact command(s) or setting that fix it. */
  readonly fix: string;
}

const CLASS_WORDS: Record<FailureClass, string> = {
  unreachable: 'unreachable',
  denied: 'denied',
  'not-found': 'not found or not implemented',
  throttled: 'throttled',
  'server-error': 'server error',
  malformed: 'malformed answer',
  error: 'failed',
};

/** `eks:ListPodIdentityAssociations denied`: an operation and how it failed, for counts in the digest. */
export function failureLabel(error: CollectionError): string {
  return `${operationOf(error.api)} ${CLASS_WORDS[failureClassOf(error)]}`;
}

/** The failure's class, from the record or (older snapshots) from its code. */
export function failureClassOf(error: CollectionError): FailureClass {
  return error.class ?? classOf(error.status, error.code);
}

/** The IAM action behind an operation name (`eks:ListClusters` -> itself; `k8s:pods` -> null). */
function iamAction(api: string): string | null {
  return /^(sts|iam|eks|account|organizations):\w+$/.test(api) ? api : null;
}

function roleArnPlaceholder(accountId: string): string {
  return `arn:aws:iam::${accountId}:role/AUDIT_ROLE_NAME`;
}

/** Advice for a failed AWS API read (AUDIT-001, and AUDIT-003 for a read inside a reachable account). */
export function awsFailureAdvice(error: CollectionError, place: FailurePlace): FailureAdvice {
  const api = operationOf(error.api);
  const failureClass = failureClassOf(error);
  const summary = `${api} ${CLASS_WORDS[failureClass]} (${error.code}${error.status ? `, HTTP ${error.status}` : ''}: ${error.message})`;
  const action = iamAction(api);
  const region = place.region ? sh` --region ${place.region}` : '';
  const regionsFix =
    api === 'account:ListRegions'
      ? '\n# or name the regions, which needs no account:ListRegions:\nirsa-audit check --live --regions us-east-1,eu-west-1   # AUDIT_REGIONS for the pipeline'
      : '';
  switch (failureClass) {
    case 'denied':
      if (api === 'sts:AssumeRole') {
        return {
          summary,
          cause:
            'the audit role could not be assumed: it is missing, or its trust does not admit the auditor (principal, ExternalId)',
          fix: sh`aws sts assume-role --role-arn ${roleArnPlaceholder(place.accountId)} --role-session-name irsa-audit-check --external-id EXTERNAL_ID   # deploy the member stack in ${place.accountId} if the role is missing (docs/deploy.md)`,
        };
      }
      return {
        summary,
        cause: `the audit role is not allowed ${action ?? api}`,
        fix: `${sh`aws iam simulate-principal-policy --policy-source-arn ${roleArnPlaceholder(place.accountId)} --action-names ${action ?? api}`}   # then grant it: redeploy the member stack, whose policy lists it (docs/permissions.md)${regionsFix}`,
      };
    case 'not-found':
      return {
        summary,
        cause:
          api === 'account:ListRegions'
            ? 'the endpoint does not implement account:ListRegions'
            : `the endpoint answered 404: it does not implement ${api} (an AWS-compatible endpoint, or a region or partition without it), or the resource went away during the audit`,
        fix:
          api === 'account:ListRegions'
            ? regionsFix.trimStart()
            : `aws ${serviceCli(api)}${region}   # check the endpoint (AWS_ENDPOINT_URL*) and region; the next run looks again`,
      };
    case 'throttled':
      return {
        summary,
        cause: 'AWS kept throttling the call after every retry',
        fix: '# nothing to change for one night: the next run looks again; if it repeats, audit fewer accounts at once (--account-concurrency) or raise the API quota',
      };
    case 'server-error':
      return {
        summary,
        cause: 'AWS answered with a server error after every retry',
        fix: '# transient on AWS side: the next run looks again; https://health.aws.amazon.com/health/status',
      };
    case 'unreachable':
      return {
        summary,
        cause: 'the AWS endpoint could not be reached (DNS, proxy, VPC endpoint or network path)',
        fix: `aws ${serviceCli(api)}${region} --debug 2>&1 | grep -i endpoint   # from where the auditor runs: check DNS, HTTPS_PROXY, VPC endpoints`,
      };
    case 'malformed':
      return {
        summary,
        cause: 'the answer was not what the API returns (a proxy or an AWS-compatible endpoint?)',
        fix: `aws ${serviceCli(api)}${region}   # compare with the raw answer; check AWS_ENDPOINT_URL* and proxies`,
      };
    default:
      return {
        summary,
        cause: 'the read failed',
        fix: `aws ${serviceCli(api)}${region}   # reproduce the read`,
      };
  }
}

/** A harmless CLI call that exercises the same service as `api`, to reproduce its failure. */
function serviceCli(api: string): string {
  switch (api) {
    case 'iam:ListRoles':
      return 'iam list-roles --max-items 1';
    case 'iam:ListOpenIDConnectProviders':
    case 'iam:GetOpenIDConnectProvider':
      return 'iam list-open-id-connect-providers';
    case 'iam:ListAttachedRolePolicies':
    case 'iam:ListRolePolicies':
      return 'iam list-attached-role-policies --role-name ROLE_NAME';
    // The documents of IRSA-023: one inline policy, one customer-managed policy (its default version).
    case 'iam:GetRolePolicy':
      return 'iam get-role-policy --role-name ROLE_NAME --policy-name POLICY_NAME';
    case 'iam:GetPolicy':
    case 'iam:GetPolicyVersion':
      return 'iam get-policy --policy-arn POLICY_ARN';
    case 'iam:GetAccountAuthorizationDetails':
      return 'iam get-account-authorization-details --filter Role --max-items 1';
    case 'eks:ListClusters':
      return 'eks list-clusters';
    case 'eks:DescribeCluster':
      return 'eks describe-cluster --name CLUSTER';
    case 'eks:ListPodIdentityAssociations':
      return 'eks list-pod-identity-associations --cluster-name CLUSTER';
    case 'eks:ListAddons':
    case 'eks:DescribeAddon':
      return 'eks list-addons --cluster-name CLUSTER';
    case 'eks:ListNodegroups':
      return 'eks list-nodegroups --cluster-name CLUSTER';
    case 'eks:DescribeNodegroup':
      return 'eks describe-nodegroup --cluster-name CLUSTER --nodegroup-name NODEGROUP';
    case 'ec2:DescribeLaunchTemplateVersions':
      return 'ec2 describe-launch-template-versions --launch-template-id LAUNCH_TEMPLATE_ID';
    case 'eks:DescribePodIdentityAssociation':
      return 'eks describe-pod-identity-association --cluster-name CLUSTER --association-id ASSOCIATION_ID';
    case 'account:ListRegions':
      return 'account list-regions';
    default:
      return 'sts get-caller-identity';
  }
}

/** The list path of a `k8s:<resource>` operation, for the fix commands (the pod list when none is named). */
function listPath(api: string): string {
  const resource = api.startsWith('k8s:') ? api.slice('k8s:'.length) : 'pods';
  return resource === 'mutatingwebhookconfigurations'
    ? '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations'
    : `/api/v1/${resource}`;
}

/** Where the bounds of the Kubernetes reads are documented. */
const BOUNDS_DOC = 'docs/checks.md "Bounds of the Kubernetes reads"';

/** Advice for a cluster whose Kubernetes API as a whole could not be read (AUDIT-002). */
export function kubernetesApiAdvice(
  error: CollectionError,
  place: FailurePlace & { cluster: string; region: string; host: string | null },
): FailureAdvice {
  const failureClass = failureClassOf(error);
  const summary = `${error.code}${error.status ? `, HTTP ${error.status}` : ''}: ${error.message}`;
  const accessEntry = sh`aws eks create-access-entry --cluster-name ${place.cluster} --region ${place.region} --principal-arn ${roleArnPlaceholder(place.accountId)} --kubernetes-groups irsa-auditor\nirsa-audit enroll --cluster ${place.cluster} --region ${place.region} --dry-run   # shows every step`;
  const endpointCheck = `${sh`aws eks describe-cluster --name ${place.cluster} --region ${place.region}`} --query 'cluster.{endpoint:endpoint,public:resourcesVpcConfig.endpointPublicAccess,private:resourcesVpcConfig.endpointPrivateAccess,cidrs:resourcesVpcConfig.publicAccessCidrs}'`;
  const host = shellWord(place.host ?? 'ENDPOINT_HOST');
  switch (error.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return {
        summary,
        cause: `the endpoint's name does not resolve from where the auditor runs (a private endpoint's name resolves only inside its VPC, or the cluster is gone)`,
        fix: `nslookup ${host}   # from where the auditor runs\n${endpointCheck}`,
      };
    case 'ECONNREFUSED':
      return {
        summary,
        cause: 'nothing accepts connections at the endpoint (wrong address, or a firewall rejecting)',
        fix: `curl -sk -o /dev/null -w '%{http_code}\\n' https://${host}/version   # from where the auditor runs\n${endpointCheck}`,
      };
    case 'Timeout':
    case 'ETIMEDOUT':
    case 'ESOCKETTIMEDOUT':
      if (/^no (byte|response headers) within/.test(error.message)) {
        // A request's own bound (kubernetes.ts): the server was reached, and its answer stalled.
        return {
          summary,
          cause:
            'the API server was reached, then its answer stalled: it sent no byte for too long, or not its headers in time (a hung API server, or a proxy in front of it)',
          fix: `${sh`kubectl --context ${place.cluster}`} get --raw '/readyz?verbose'   # the next run looks again\n# an API server that is only slow: raise the collector's timeoutMs or headersTimeoutMs (${BOUNDS_DOC})`,
        };
      }
      return {
        summary,
        cause:
          'the endpoint did not answer in time: a private endpoint seen from outside its VPC, a route or security group that drops the traffic, or public access CIDRs that exclude the auditor',
        fix: `${endpointCheck}\n# run the auditor where the endpoint is reachable, or add its egress address to publicAccessCidrs (docs/deploy.md);\n# a large cluster that answers slowly: raise the deadline (--cluster-deadline SECONDS, AUDIT_CLUSTER_DEADLINE_SECONDS)`,
      };
    case 'PrivateEndpoint':
      return {
        summary,
        cause:
          "the cluster's public endpoint is off and the auditor does not run where its private endpoint is reachable",
        fix: `${endpointCheck}\n# pipeline: add a network auditor in a VPC that reaches the cluster's (hub configuration: networks[].reachesVpcIds, docs/deploy.md "Private clusters");\n# CLI: run it inside the cluster's VPC with --private-endpoints-reachable (a function of your own there: AUDIT_PRIVATE_ENDPOINTS=dial)`,
      };
    case 'PublicCidrs':
      return {
        summary,
        cause:
          "the cluster's public endpoint admits only its public access CIDRs, and the auditor's traffic leaves from an address outside them",
        fix: `${endpointCheck}\n# add the auditor's egress address to them (keeping the others):\n${sh`aws eks update-cluster-config --name ${place.cluster} --region ${place.region}`} --resources-vpc-config publicAccessCidrs="EXISTING_CIDRS,EGRESS_IP/32"\n# or run the auditor inside the cluster's VPC (--private-endpoints-reachable, AUDIT_PRIVATE_ENDPOINTS=dial)`,
      };
    case 'PageTooLarge':
      return {
        summary,
        cause:
          'the API server sent a list page larger than the collector reads: a server or proxy that does not end its answer, or objects far larger than any usual cluster has',
        fix: `${sh`kubectl --context ${place.cluster}`} get --raw '${listPath(error.api)}?limit=500' | wc -c   # the size of one page of 500\n# if the cluster's objects really are that large, raise the collector's maxPageBytes (${BOUNDS_DOC}); otherwise the API server, or a proxy in front of it, is misbehaving`,
      };
    case 'TooManyItems':
      return {
        summary,
        cause:
          'the API server returned more items in one page than the limit asked for: it does not page as asked (a proxy or aggregated API that ignores limit, or a hostile server)',
        fix: `${sh`kubectl --context ${place.cluster}`} get --raw '${listPath(error.api)}?limit=5' | jq '.items | length'   # more than 5: the server ignores limit\n# the API server, or a proxy in front of it, is misbehaving; the collector's maxPageItems (${BOUNDS_DOC}) tolerates only so much`,
      };
    case 'TooManyPages':
      return {
        summary,
        cause:
          'the list kept giving a continue token past the most pages a list is followed for: a list that never ends (a misbehaving or hostile server), or a cluster with more objects than the bound allows',
        fix: `${sh`kubectl --context ${place.cluster}`} get --raw '${listPath(error.api)}?limit=500' | jq '.metadata.remainingItemCount'   # how many objects the list really has\n# if the cluster really has that many, raise the collector's maxPagesPerList (${BOUNDS_DOC}); otherwise the API server is misbehaving`,
      };
    case 'ContinueLoop':
      return {
        summary,
        cause:
          'the API server gave a continue token it had already given in the same list: following it would loop forever (a misbehaving API server or proxy; nothing to set in the auditor)',
        fix: `${sh`kubectl --context ${place.cluster}`} get --raw '${listPath(error.api)}?limit=1' | jq '.metadata.continue'   # then again with ?limit=1&continue=THAT_TOKEN: a new token each page, or the end\n# the API server, or a proxy in front of it, is misbehaving: check its version and logs`,
      };
    case 'Trickle':
      return {
        summary,
        cause:
          'the API server sent its answer too slowly, a few bytes at a time: a saturated or throttled link, a proxy that throttles, or a hostile server',
        fix: `curl -sk -o /dev/null -w '%{speed_download} bytes/s\\n' -H "Authorization: Bearer $(${sh`aws eks get-token --cluster-name ${place.cluster} --region ${place.region}`} --query status.token --output text)" ${shellWord(`https://${place.host ?? 'ENDPOINT_HOST'}${listPath(error.api)}?limit=500`)}   # from where the auditor runs\n# if the link really is this slow, lower the collector's minBytesPerSecond (${BOUNDS_DOC}); otherwise the API server or the path to it is misbehaving`,
      };
    case 'NoEndpoint':
      return {
        summary,
        cause: 'DescribeCluster gave no endpoint or CA yet (a cluster still being created or failed)',
        fix: sh`aws eks describe-cluster --name ${place.cluster} --region ${place.region} --query cluster.status`,
      };
    case 'TLS':
      return {
        summary,
        cause:
          "the API server's certificate does not verify against the cluster CA from DescribeCluster (a proxy in the way?)",
        fix: `${endpointCheck}\n# compare the certificate the endpoint presents with certificateAuthority.data`,
      };
    default:
      break;
  }
  switch (failureClass) {
    case 'denied':
      return error.code === 'Forbidden'
        ? {
            summary,
            cause: 'the audit role is authenticated but not bound to the auditor ClusterRole',
            fix: `${sh`kubectl --context ${place.cluster} apply -f deploy/kubernetes/irsa-auditor-rbac.yaml`}\n${accessEntry}`,
          }
        : {
            summary,
            cause: 'the cluster refused the audit role (no access entry, or the token was refused)',
            fix: accessEntry,
          };
    case 'not-found':
      return {
        summary,
        cause: 'the endpoint answered 404: it is not a Kubernetes API server',
        fix: endpointCheck,
      };
    case 'throttled':
    case 'server-error':
      return {
        summary,
        cause: `the API server kept answering ${failureClass === 'throttled' ? '429' : 'with server errors'} after every retry`,
        fix: `${sh`kubectl --context ${place.cluster} get --raw`} '/readyz?verbose'   # the next run looks again`,
      };
    case 'malformed':
      return {
        summary,
        cause: 'the API server sent something that is not a Kubernetes answer (a proxy in the way?)',
        fix: `${sh`kubectl --context ${place.cluster}`} get --raw '/api/v1/serviceaccounts?limit=1'`,
      };
    default:
      return {
        summary,
        cause: 'the Kubernetes API could not be read',
        fix: `${endpointCheck}\n${accessEntry}`,
      };
  }
}
