/** Writes deploy/kubernetes/*.yaml from shared/collectors/rbac.ts (a test checks they are current). */
import { writeFileSync } from 'node:fs';
import { auditorRbacYaml } from '#shared/collectors/rbac.ts';

writeFileSync(new URL('../deploy/kubernetes/irsa-auditor-rbac.yaml', import.meta.url), auditorRbacYaml());
writeFileSync(
  new URL('../deploy/kubernetes/irsa-auditor-rbac-probe.yaml', import.meta.url),
  auditorRbacYaml({ probe: true }),
);
console.log('wrote deploy/kubernetes/irsa-auditor-rbac.yaml and irsa-auditor-rbac-probe.yaml');
