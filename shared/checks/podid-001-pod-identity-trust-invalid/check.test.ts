import { describeCheck } from '../../testing/check-harness.ts';
import { irsaTrustPolicy, podIdentityTrustPolicy, podIdentityWith } from '../../testing/fleet-builder.ts';
import { check } from './check.ts';

const API = { cluster: 'demo', namespace: 'shop', serviceAccount: 'api' };
const CLUSTER_ARN = 'arn:aws:eks:us-west-2:111122223333:cluster/demo';
const PRINCIPAL = { Service: 'pods.eks.amazonaws.com' };

/** A trust of the given statements. */
function trust(...statements: Record<string, unknown>[]) {
  return { Version: '2012-10-17', Statement: statements };
}
const withTrust = (t: unknown) => podIdentityWith(() => {}, { trust: t });

describeCheck(check, {
  pass: [
    { name: "the user guide's trust", fleet: withTrust(podIdentityTrustPolicy()) },
    {
      name: 'scoped to the cluster ARN, namespace and ServiceAccount by session tags',
      fleet: withTrust(
        podIdentityTrustPolicy({
          StringEquals: {
            'aws:RequestTag/eks-cluster-arn': CLUSTER_ARN,
            'AWS:requesttag/Kubernetes-Namespace': ['billing', 'shop'],
            'aws:RequestTag/kubernetes-service-account': 'api',
            'aws:SourceAccount': '111122223333',
          },
        }),
      ),
    },
    {
      name: 'sts:* and a StringLike on the cluster name',
      fleet: withTrust(
        trust({
          Effect: 'Allow',
          Principal: PRINCIPAL,
          Action: 'sts:*',
          Condition: { StringLike: { 'aws:RequestTag/eks-cluster-name': 'de*' } },
        }),
      ),
    },
    {
      name: 'the two actions in two statements, beside an IRSA statement',
      fleet: withTrust(
        trust(
          (
            irsaTrustPolicy(
              'arn:aws:iam::111122223333:oidc-provider/x',
              'x',
              'system:serviceaccount:shop:api',
            ).Statement as Record<string, unknown>[]
          )[0] as Record<string, unknown>,
          { Effect: 'Allow', Principal: PRINCIPAL, Action: 'sts:AssumeRole' },
          { Effect: 'Allow', Principal: PRINCIPAL, Action: 'sts:TagSession' },
        ),
      ),
    },
    {
      name: 'a Deny for another namespace does not apply',
      fleet: withTrust(
        trust(
          { Effect: 'Allow', Principal: PRINCIPAL, Action: ['sts:AssumeRole', 'sts:TagSession'] },
          {
            Effect: 'Deny',
            Principal: '*',
            Action: '*',
            Condition: { StringEquals: { 'aws:RequestTag/kubernetes-namespace': 'kube-system' } },
          },
        ),
      ),
    },
  ],
  fail: [
    {
      name: 'sts:TagSession missing (the trust written for an EC2 role)',
      fleet: withTrust(trust({ Effect: 'Allow', Principal: PRINCIPAL, Action: 'sts:AssumeRole' })),
      expect: [API],
      mentions: [
        'sts:TagSession',
        'demo-api-pod-identity',
        'update-assume-role-policy',
        'kubernetes-namespace',
      ],
      absent: ['sts:AssumeRole and'],
    },
    {
      name: 'an IRSA-only trust (web identity, no service principal)',
      fleet: withTrust(
        irsaTrustPolicy('arn:aws:iam::111122223333:oidc-provider/x', 'x', 'system:serviceaccount:shop:api'),
      ),
      expect: [API],
      mentions: ['sts:AssumeRole and sts:TagSession'],
    },
    {
      name: 'the right actions for another service principal',
      fleet: withTrust(
        trust({
          Effect: 'Allow',
          Principal: { Service: 'ec2.amazonaws.com' },
          Action: ['sts:AssumeRole', 'sts:TagSession'],
        }),
      ),
      expect: [API],
    },
    {
      name: 'a namespace condition that can never match this association',
      fleet: withTrust(
        podIdentityTrustPolicy({ StringEquals: { 'aws:RequestTag/kubernetes-namespace': 'Shop' } }),
      ),
      expect: [API],
    },
    {
      name: 'a cluster ARN condition for another cluster',
      fleet: withTrust(
        podIdentityTrustPolicy({
          ArnEquals: { 'aws:RequestTag/eks-cluster-arn': 'arn:aws:eks:us-west-2:111122223333:cluster/other' },
        }),
      ),
      expect: [API],
    },
    {
      name: 'an explicit Deny of sts:TagSession wins, even beside a condition the audit cannot know',
      fleet: withTrust(
        trust(
          {
            Effect: 'Allow',
            Principal: PRINCIPAL,
            Action: ['sts:AssumeRole', 'sts:TagSession'],
            Condition: { StringLike: { 'aws:RequestTag/kubernetes-pod-name': 'api-*' } },
          },
          { Sid: 'NoTags', Effect: 'Deny', Principal: '*', Action: 'sts:TagSession' },
        ),
      ),
      expect: [API],
      mentions: ['NoTags'],
    },
    {
      name: 'only the association of the broken role fails',
      fleet: podIdentityWith((h) => {
        h.cluster.serviceAccount('shop', 'worker');
        const role = h.account.role(
          'demo-worker',
          trust({ Effect: 'Allow', Principal: PRINCIPAL, Action: 'sts:AssumeRole' }),
        );
        h.cluster.podIdentity('shop', 'worker', role.arn);
      }),
      expect: [{ cluster: 'demo', namespace: 'shop', serviceAccount: 'worker' }],
    },
  ],
  notEvaluated: [
    {
      name: 'the role does not exist (PODID-002)',
      fleet: podIdentityWith((h) => {
        h.association = h.cluster.podIdentity('shop', 'api', 'arn:aws:iam::111122223333:role/gone');
        h.cluster.cluster.podIdentityAssociations?.shift();
      }),
      expect: [API],
    },
    {
      name: "the role's account is not audited",
      fleet: podIdentityWith((h) => {
        h.cluster.cluster.podIdentityAssociations = [];
        h.cluster.podIdentity('shop', 'api', 'arn:aws:iam::999999999999:role/elsewhere');
      }),
      expect: [API],
    },
    {
      name: 'the Allow turns on the pod name, which the audit cannot know',
      fleet: withTrust(
        podIdentityTrustPolicy({ StringLike: { 'aws:RequestTag/kubernetes-pod-name': 'api-*' } }),
      ),
      expect: [API],
    },
    {
      name: 'an unparseable trust',
      fleet: withTrust('{"Statement": ['),
      expect: [API],
    },
    {
      name: 'pod-identity-associations.json is unreadable',
      fleet: podIdentityWith((h) => {
        h.cluster.cluster.podIdentityAssociations = null;
      }),
      expect: [{ cluster: 'demo' }],
    },
  ],
});
