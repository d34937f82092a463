/**
 * Schemas of the snapshot files: exactly the shapes the AWS CLI and kubectl print, reduced to
 * the fields the checks read (everything else is accepted and dropped).
 */
import { z } from 'zod';
import { FAILURE_CLASSES } from '../model/fleet.ts';
import {
  clusterNameProblem,
  eksIssuerProblem,
  namespaceProblem,
  objectNameProblem,
  parseRoleArn,
  roleNameProblem,
} from '../policy/aws-names.ts';

const nullableString = z.string().nullish();
const stringMap = z.record(z.string(), z.string()).nullish();

/**
 * A string that also meets the rule AWS or Kubernetes puts on it (shared/policy/aws-names.ts): a
 * value that IAM, EKS or the API server would never have returned makes the file an input error
 * (AUDIT-004) naming the field and the rule, never reaches a check, and is never printed whole.
 */
function ruled(problem: (value: string) => string | null) {
  return z
    .string()
    .min(1)
    .superRefine((value, ctx) => {
      const why = problem(value);
      if (why !== null) ctx.addIssue({ code: 'custom', message: why });
    });
}
const roleArnProblem = (value: string) => {
  const parsed = parseRoleArn(value);
  return parsed.ok ? null : `not an IAM role ARN: ${parsed.problem}`;
};
const objectName = ruled(objectNameProblem);
const namespaceName = ruled(namespaceProblem);

// ---- <account>/iam.json -------------------------------------------------------------------

export const roleSchema = z.object({
  RoleName: ruled(roleNameProblem),
  Arn: ruled(roleArnProblem),
  // URL-encoded string (API), JSON string, or decoded object (CLI); parsed later, where a broken
  // document is a finding on the role (IRSA-017), not a broken file.
  AssumeRolePolicyDocument: z.union([z.string(), z.record(z.string(), z.unknown())]),
});

export const oidcProviderSchema = z.object({
  Arn: z.string().min(1),
  Url: z.string().min(1),
  ClientIDList: z.array(z.string()).nullish(),
});

/** A permission document in the encodings a trust policy may have; read by IRSA-023 only. */
const policyDocumentSchema = z.union([z.string(), z.record(z.string(), z.unknown())]);

export const rolePoliciesSchema = z.object({
  AttachedPolicies: z.array(z.object({ PolicyName: z.string(), PolicyArn: z.string() })).nullish(),
  PolicyNames: z.array(z.string()).nullish(),
  // As `aws iam get-account-authorization-details` prints a role's inline policies.
  RolePolicyList: z
    .array(z.object({ PolicyName: z.string(), PolicyDocument: policyDocumentSchema }))
    .nullish(),
});

/** A customer-managed policy as `get-account-authorization-details` prints it (`Policies`). */
export const managedPolicySchema = z.object({
  PolicyName: z.string(),
  Arn: z.string().min(1),
  DefaultVersionId: nullableString,
  PolicyVersionList: z
    .array(
      z.object({
        Document: policyDocumentSchema.nullish(),
        VersionId: nullableString,
        IsDefaultVersion: z.boolean().nullish(),
      }),
    )
    .nullish(),
});

export const iamFileSchema = z.object({
  Roles: z.array(roleSchema),
  OpenIDConnectProviders: z.array(oidcProviderSchema).nullish(),
  RolePolicies: z.record(z.string(), rolePoliciesSchema).nullish(),
  Policies: z.array(managedPolicySchema).nullish(),
});
export type IamFile = z.infer<typeof iamFileSchema>;

// ---- <cluster>/cluster.json ---------------------------------------------------------------

export const clusterFileSchema = z.object({
  cluster: z.object({
    name: ruled(clusterNameProblem),
    arn: nullableString,
    endpoint: nullableString,
    certificateAuthority: z.object({ data: nullableString }).nullish(),
    identity: z.object({ oidc: z.object({ issuer: ruled(eksIssuerProblem).nullish() }).nullish() }).nullish(),
    // EKS Auto Mode (IRSA-060, 061): absent before Auto Mode existed.
    computeConfig: z.object({ enabled: z.boolean().nullish() }).nullish(),
  }),
});
export type ClusterFile = z.infer<typeof clusterFileSchema>;

// ---- <cluster>/kubernetes.json ------------------------------------------------------------

const metadataSchema = z.object({
  name: objectName,
  namespace: nullableString,
  annotations: stringMap,
  labels: stringMap,
  creationTimestamp: nullableString,
  ownerReferences: z
    .array(z.object({ kind: z.string(), name: objectName, controller: z.boolean().nullish() }))
    .nullish(),
  managedFields: z
    .array(z.object({ time: nullableString, fieldsV1: z.record(z.string(), z.unknown()).nullish() }))
    .nullish(),
});

export const serviceAccountSchema = z.object({
  kind: z.literal('ServiceAccount'),
  metadata: metadataSchema.extend({ namespace: namespaceName }),
});

const containerSchema = z.object({
  name: z.string().min(1),
  // An entry's valueFrom (a Secret or ConfigMap reference, as the collector keeps it, or any other
  // source kubectl prints) has no value (null); of any shape, it is read only for where the
  // value comes from (parse-files.ts, envSource).
  env: z
    .array(z.object({ name: z.string(), value: z.string().nullish(), valueFrom: z.unknown().optional() }))
    .nullish(),
});

const volumeSchema = z.object({
  name: z.string(),
  projected: z
    .object({
      sources: z
        .array(z.object({ serviceAccountToken: z.object({ audience: nullableString }).nullish() }))
        .nullish(),
    })
    .nullish(),
});

export const podSchema = z.object({
  kind: z.literal('Pod'),
  metadata: metadataSchema.extend({ namespace: namespaceName }),
  spec: z.object({
    serviceAccountName: objectName.nullish(),
    serviceAccount: objectName.nullish(),
    containers: z.array(containerSchema),
    initContainers: z.array(containerSchema).nullish(),
    volumes: z.array(volumeSchema).nullish(),
  }),
  status: z.object({ phase: nullableString }).nullish(),
});

const labelSelectorSchema = z.object({
  matchLabels: stringMap,
  matchExpressions: z
    .array(z.object({ key: z.string(), operator: z.string(), values: z.array(z.string()).nullish() }))
    .nullish(),
});

export const webhookConfigurationSchema = z.object({
  kind: z.literal('MutatingWebhookConfiguration'),
  metadata: metadataSchema,
  webhooks: z
    .array(
      z.object({
        name: z.string(),
        clientConfig: z
          .object({
            caBundle: nullableString,
            url: nullableString,
            service: z.object({ namespace: z.string(), name: z.string() }).nullish(),
          })
          .nullish(),
        failurePolicy: nullableString,
        namespaceSelector: labelSelectorSchema.nullish(),
        objectSelector: labelSelectorSchema.nullish(),
      }),
    )
    .nullish(),
});

/** Every namespace, reduced to its name and labels (IRSA-063 judges namespaceSelectors on them). */
export const namespaceSchema = z.object({
  kind: z.literal('Namespace'),
  metadata: metadataSchema.extend({ name: namespaceName }),
});

/** A Service a pod identity webhook names (IRSA-064): its type and selector. */
export const serviceSchema = z.object({
  kind: z.literal('Service'),
  metadata: metadataSchema.extend({ namespace: namespaceName }),
  spec: z.object({ type: nullableString, selector: stringMap }).nullish(),
});

/** An EndpointSlice of such a Service (discovery.k8s.io/v1): its endpoints' readiness. */
export const endpointSliceSchema = z.object({
  kind: z.literal('EndpointSlice'),
  metadata: metadataSchema.extend({ namespace: namespaceName }),
  endpoints: z
    .array(
      z.object({
        conditions: z.object({ ready: z.boolean().nullish() }).nullish(),
        targetRef: z.object({ kind: nullableString, name: nullableString }).nullish(),
      }),
    )
    .nullish(),
});

export const KUBERNETES_KINDS = [
  'ServiceAccount',
  'Pod',
  'MutatingWebhookConfiguration',
  'Namespace',
  'Service',
  'EndpointSlice',
] as const;

/**
 * The kinds collected since the first snapshots: a kubernetes.json without `collected` predates
 * them, so they count as collected only when `collected` names them or items of theirs are present
 * (never as an empty list: the checks that read them are then not evaluated).
 */
export const LATER_KUBERNETES_KINDS: ReadonlySet<string> = new Set(['Namespace', 'Service', 'EndpointSlice']);

/** The envelope; items are validated one by one so that an error names the item. */
export const kubernetesFileSchema = z.object({
  kind: z.string().nullish(),
  items: z.array(z.object({ kind: z.string().nullish() }).loose()),
  collected: z.array(z.enum(KUBERNETES_KINDS)).nullish(),
});

// ---- <cluster>/pod-identity-associations.json ---------------------------------------------

export const podIdentityAssociationsFileSchema = z.object({
  associations: z.array(
    z.object({
      namespace: z.string().min(1),
      serviceAccount: z.string().min(1),
      roleArn: nullableString,
      associationArn: nullableString,
    }),
  ),
});

// ---- <cluster>/addons.json ------------------------------------------------------------------

/** `aws eks describe-addon` output's `addon` object, the fields PODID-004 reads. */
const addonSchema = z.object({
  addonName: z.string().min(1),
  status: nullableString,
  addonVersion: nullableString,
  health: z
    .object({
      issues: z.array(z.object({ code: nullableString, message: nullableString }).passthrough()).nullish(),
    })
    .passthrough()
    .nullish(),
});

export const addonsFileSchema = z.object({
  /** `aws eks list-addons` output's `addons`: the add-on names. */
  addons: z.array(z.string().min(1)),
  /** `aws eks describe-addon` outputs (`{"addon": {...}}`) of the add-ons described. */
  described: z.array(z.object({ addon: addonSchema.passthrough() })).default([]),
});

// ---- collection.json (top level) -------------------------------------------------------------

/**
 * Written by the CLI's collection into the snapshot directory: `collecting` first, `complete` once
 * every file is written. Any other status, or `collecting` left by a collection that never ended,
 * marks the snapshot incomplete.
 */
export const collectionMarkerSchema = z.object({
  status: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
});

// ---- <cluster>/nodegroups.json ---------------------------------------------------------------

/** EKS's rule for a node group name (CreateNodegroup): it lands in findings and fix commands. */
const nodegroupName = z
  .string()
  .regex(
    /^[0-9A-Za-z][A-Za-z0-9_-]{0,62}$/,
    'not an EKS node group name (1 to 63 of A-Z, a-z, 0-9, - and _)',
  );

/** `aws eks describe-nodegroup` output's `nodegroup` object, the fields IRSA-060/061 read. */
const nodegroupSchema = z.object({
  nodegroupName: nodegroupName,
  nodeRole: nullableString,
  status: nullableString,
  amiType: nullableString,
  launchTemplate: z.object({ id: nullableString, name: nullableString, version: nullableString }).nullish(),
});

/** An item of `aws ec2 describe-launch-template-versions` output's `LaunchTemplateVersions`. */
const launchTemplateVersionSchema = z.object({
  LaunchTemplateId: nullableString,
  LaunchTemplateName: nullableString,
  VersionNumber: z.number().int().min(1),
  DefaultVersion: z.boolean().nullish(),
  LaunchTemplateData: z
    .object({
      MetadataOptions: z
        .object({
          HttpTokens: nullableString,
          HttpPutResponseHopLimit: z.number().int().nullish(),
          HttpEndpoint: nullableString,
        })
        .nullish(),
    })
    .nullish(),
});

export const nodegroupsFileSchema = z.object({
  /** `aws eks list-nodegroups` output's `nodegroups`: the node group names. */
  nodegroups: z.array(nodegroupName),
  /** `aws eks describe-nodegroup` outputs (`{"nodegroup": {...}}`) of the node groups described. */
  described: z.array(z.object({ nodegroup: nodegroupSchema.passthrough() })).default([]),
  /** The launch template versions the node groups name (describe-launch-template-versions items). */
  launchTemplateVersions: z.array(launchTemplateVersionSchema.passthrough()).default([]),
});

// ---- collection-errors.json (account or cluster folder; written by the collector) -------------

/**
 * The operation, code, region and role of an error are short names (the longest, an older snapshot's
 * `eks:DescribeCluster (<region>/<cluster>)`, is under 150 characters), and they are repeated in every
 * result the failure leaves not evaluated: a longer one is invalid, not copied hundreds of times
 * into the report.
 */
const errorName = z.string().min(1).max(256);

export const collectionErrorsFileSchema = z.object({
  errors: z.array(
    z.object({
      api: errorName,
      code: errorName,
      message: z.string(),
      kind: z.enum([...KUBERNETES_KINDS, 'TokenRequest']).nullish(),
      class: z.enum(FAILURE_CLASSES).optional(),
      status: z.number().int().optional(),
      region: errorName.optional(),
      role: errorName.optional(),
    }),
  ),
});

// ---- <cluster>/probes.json (written by `collect --probe`: outcomes only, never a token) ---------

export const probesFileSchema = z.object({
  results: z.array(
    z.object({
      namespace: z.string().min(1),
      serviceAccount: z.string().min(1),
      roleArn: z.string(),
      audience: z.string().min(1),
      outcome: z.enum(['pass', 'fail', 'error']),
      errorCode: nullableString,
      message: nullableString,
      assumedRoleArn: nullableString,
    }),
  ),
});
