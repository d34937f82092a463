/**
 * The explicit, ordered catalogue of checks (bundlers cannot follow a folder scan). Ids are a
 * public interface: see docs/checks.md. IRSA-040 reads the results of the
 * opt-in live probe (`--probe`); without them it is not evaluated.
 */
import { check as audit001 } from './audit-001-account-unreachable/check.ts';
import { check as audit002 } from './audit-002-cluster-unreachable/check.ts';
import { check as audit003 } from './audit-003-permission-missing/check.ts';
import { check as audit004 } from './audit-004-input-invalid/check.ts';
import { check as irsa001 } from './irsa-001-oidc-provider-missing/check.ts';
import { check as irsa002 } from './irsa-002-oidc-provider-audience/check.ts';
import { check as irsa003 } from './irsa-003-webhook-missing/check.ts';
import { check as irsa004 } from './irsa-004-webhook-ca-bundle/check.ts';
import { check as irsa010 } from './irsa-010-role-arn-malformed/check.ts';
import { check as irsa011 } from './irsa-011-role-missing/check.ts';
import { check as irsa012 } from './irsa-012-trust-provider-mismatch/check.ts';
import { check as irsa013 } from './irsa-013-trust-subject-mismatch/check.ts';
import { check as irsa014 } from './irsa-014-trust-audience-mismatch/check.ts';
import { check as irsa015 } from './irsa-015-trust-subject-unrestricted/check.ts';
import { check as irsa016 } from './irsa-016-trust-subject-wildcard/check.ts';
import { check as irsa017 } from './irsa-017-trust-policy-invalid/check.ts';
import { check as irsa018 } from './irsa-018-role-no-permissions/check.ts';
import { check as irsa019 } from './irsa-019-sts-regional-endpoints-invalid/check.ts';
import { check as irsa020 } from './irsa-020-token-expiration-invalid/check.ts';
import { check as irsa021 } from './irsa-021-pod-identity-conflict/check.ts';
import { check as irsa022 } from './irsa-022-cross-account-provider/check.ts';
import { check as irsa023 } from './irsa-023-role-permissions-ineffective/check.ts';
import { check as irsa030 } from './irsa-030-pod-not-mutated/check.ts';
import { check as irsa031 } from './irsa-031-pod-role-stale/check.ts';
import { check as irsa032 } from './irsa-032-pod-regional-env-missing/check.ts';
import { check as irsa033 } from './irsa-033-pod-service-account-missing/check.ts';
import { check as irsa034 } from './irsa-034-pod-static-credentials/check.ts';
import { check as irsa040 } from './irsa-040-assume-role-probe/check.ts';
import { check as irsa050 } from './irsa-050-oidc-provider-orphaned/check.ts';
import { check as irsa051 } from './irsa-051-role-trusts-missing-cluster/check.ts';
import { check as irsa060 } from './irsa-060-node-imds-reachable/check.ts';
import { check as irsa061 } from './irsa-061-node-role-excess-permissions/check.ts';
import { check as irsa062 } from './irsa-062-webhook-failure-policy-ignore/check.ts';
import { check as irsa063 } from './irsa-063-webhook-selector-excludes/check.ts';
import { check as irsa064 } from './irsa-064-webhook-service-no-endpoint/check.ts';
import { check as podid001 } from './podid-001-pod-identity-trust-invalid/check.ts';
import { check as podid002 } from './podid-002-pod-identity-role-missing/check.ts';
import { check as podid003 } from './podid-003-pod-identity-service-account-missing/check.ts';
import { check as podid004 } from './podid-004-pod-identity-agent-missing/check.ts';
import { check as podid005 } from './podid-005-pod-identity-pod-not-injected/check.ts';
import { check as podid006 } from './podid-006-pod-identity-role-no-permissions/check.ts';
import type { Check } from './types.ts';

export const CATALOGUE: readonly Check[] = [
  irsa001,
  irsa002,
  irsa003,
  irsa004,
  irsa010,
  irsa011,
  irsa012,
  irsa013,
  irsa014,
  irsa015,
  irsa016,
  irsa017,
  irsa018,
  irsa019,
  irsa020,
  irsa021,
  irsa022,
  irsa023,
  irsa030,
  irsa031,
  irsa032,
  irsa033,
  irsa034,
  irsa040,
  irsa050,
  irsa051,
  irsa060,
  irsa061,
  irsa062,
  irsa063,
  irsa064,
  podid001,
  podid002,
  podid003,
  podid004,
  podid005,
  podid006,
  audit001,
  audit002,
  audit003,
  audit004,
];

export function findCheck(id: string): Check | undefined {
  return CATALOGUE.find((c) => c.metadata.id === id.toUpperCase());
}
