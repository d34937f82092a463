import { isActivePod } from '../../engine/audit-context.ts';
import { reads } from '../../engine/coverage.ts';
import type { Cluster } from '../../model/fleet.ts';
import { sh } from '../../sinks/shell.ts';
import { POD_IDENTITY_REFERENCE } from '../pod-identity.ts';
import { clusterSubject, resultsFor } from '../results.ts';
import type { Check, CheckMetadata, CheckResult } from '../types.ts';

export const metadata: CheckMetadata = {
  id: 'PODID-004',
  name: 'pod-identity-agent-missing',
  title: 'The cluster has EKS Pod Identity associations but no ACTIVE eks-pod-identity-agent add-on',
  severity: 'critical',
  scope: 'cluster',
  risk: 'Pods get the Pod Identity variables, but nothing answers on 169.254.170.23: every pod of every associated ServiceAccount fails to get credentials.',
  remediation:
    'Install the eks-pod-identity-agent add-on (aws eks create-addon), or repair it until it is ACTIVE (its health issues name the cause).',
  references: [
    'https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html',
    POD_IDENTITY_REFERENCE,
  ],
};

export const AGENT_ADDON = 'eks-pod-identity-agent';
const results = resultsFor(metadata);

/** Running pods of a self-managed agent (the DaemonSet installed without the add-on) in kube-system. */
function selfManagedAgentPods(cluster: Cluster): string[] {
  return (cluster.kubernetes?.pods ?? [])
    .filter((p) => p.namespace === 'kube-system' && p.name.startsWith(`${AGENT_ADDON}-`) && isActivePod(p))
    .map((p) => p.name);
}

/** PODID-004: a cluster with associations runs the Pod Identity agent (the add-on ACTIVE, or its own DaemonSet). */
export const check: Check = {
  metadata,
  // The inputs its verdicts depend on: a failed read of one makes them not evaluated (coverage.ts).
  // Pod: an agent installed without the add-on is seen by its pods.
  reads: reads('cluster', 'pod-identity-associations', 'addons', 'Pod'),
  evaluate(context) {
    const out: CheckResult[] = [];
    for (const cluster of context.clusters) {
      const subject = clusterSubject(cluster);
      const associations = cluster.podIdentityAssociations;
      if (associations === null) {
        out.push(results.notEvaluated(subject, 'pod-identity-associations.json could not be read'));
        continue;
      }
      if (associations.length === 0) {
        out.push(results.pass(subject, `no Pod Identity association in ${cluster.name}: no agent needed`));
        continue;
      }
      const addons = cluster.addons ?? null;
      if (addons === null) {
        out.push(results.notEvaluated(subject, 'addons.json is absent or invalid'));
        continue;
      }
      const evidence: Record<string, unknown> = { associations: associations.length, addons: addons.names };
      const create = sh`aws eks create-addon --cluster-name ${cluster.name} --region ${cluster.region} --addon-name ${AGENT_ADDON}`;
      if (!addons.names.includes(AGENT_ADDON)) {
        const pods = selfManagedAgentPods(cluster);
        if (pods.length > 0) {
          out.push(
            results.pass(subject, `the agent runs without the add-on (${pods.length} pod(s))`, {
              ...evidence,
              agentPods: pods,
            }),
          );
          continue;
        }
        out.push(
          results.fail(
            subject,
            `Cluster ${cluster.name} has ${associations.length} EKS Pod Identity association(s) but no ${AGENT_ADDON} add-on (and no agent pod in kube-system): no pod gets Pod Identity credentials.`,
            evidence,
            create,
          ),
        );
        continue;
      }
      const agent = addons.described.get(AGENT_ADDON);
      if (!agent) {
        out.push(
          results.notEvaluated(
            subject,
            `the ${AGENT_ADDON} add-on is listed but was not described`,
            evidence,
          ),
        );
        continue;
      }
      const state = { ...evidence, status: agent.status, version: agent.version, issues: agent.issues };
      if (agent.status === 'ACTIVE') {
        out.push(results.pass(subject, `${AGENT_ADDON} ${agent.version ?? ''} is ACTIVE`, state));
        continue;
      }
      out.push(
        results.fail(
          subject,
          `Cluster ${cluster.name} has ${associations.length} EKS Pod Identity association(s) but its ${AGENT_ADDON} add-on is ${agent.status ?? 'of unknown status'}${agent.issues.length > 0 ? ` (${agent.issues.join('; ')})` : ''}.`,
          state,
          `${sh`aws eks describe-addon --cluster-name ${cluster.name} --region ${cluster.region} --addon-name ${AGENT_ADDON} --query addon.health`}\n${sh`# fix what the issues name, then:\naws eks update-addon --cluster-name ${cluster.name} --region ${cluster.region} --addon-name ${AGENT_ADDON} --resolve-conflicts OVERWRITE`}${agent.status === 'CREATE_FAILED' ? `\n${sh`aws eks delete-addon --cluster-name ${cluster.name} --region ${cluster.region} --addon-name ${AGENT_ADDON}`} && ${create}` : ''}`,
        ),
      );
    }
    return out;
  },
};
