// biome-ignore-all lint/suspicious/noTemplateCurlyInString: IAM policy variables (${...}) are literal text in these policies
/**
 * Differential test of the trust-policy evaluator against an independent IAM simulator
 * (`@cloud-copilot/iam-simulate`), over generated IRSA trust policies and web-identity requests.
 *
 * Modelling of the simulator: the trust policy is the role's resource policy (validated with
 * `validateTrustPolicy`, the simulator's own validator, and handed over pre-validated); the
 * principal is the federated provider ARN of the token's issuer; the action
 * `sts:AssumeRoleWithWebIdentity`; the resource the role; the token's claims are context keys.
 * `runUnsafeSimulation` is used because the validating `runSimulation` drops the `oidc.eks.*`
 * keys it does not know for the action (and validates the document as a generic resource policy).
 *
 * The two must agree (allow / not allow / document refused) except in the classes documented in
 * docs/checks.md ("Trust evaluation against an independent simulator"), recognised below by
 * `exceptionClass`. Any other difference fails with the counterexample.
 *
 * Reproduce a run: TRUST_SEED=<seed> npx vitest run test/trust-differential.test.ts
 * Measure instead of asserting: TRUST_REPORT=1 (same command) prints the agreement figures.
 */
import { createValidatedPolicy, validateTrustPolicy } from '@cloud-copilot/iam-policy';
import { runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { evaluatePolicy } from '#shared/policy/evaluate.ts';
import { parsePolicyDocument } from '#shared/policy/policy-document.ts';

const ACCOUNT = '111122223333';
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/app`;
const ISSUER_A = 'oidc.eks.us-east-1.amazonaws.com/id/AAAA1111';
const ISSUER_B = 'oidc.eks.eu-west-1.amazonaws.com/id/BBBB2222';
const provider = (issuer: string) => `arn:aws:iam::${ACCOUNT}:oidc-provider/${issuer}`;
const ACTION = 'sts:AssumeRoleWithWebIdentity';

/** Number of generated (policy, request) pairs per run. */
const NUM_RUNS = 6000;
/** TRUST_REPORT=1 prints the figures, and tallies differences outside the classes instead of failing. */
const REPORT = Boolean(process.env.TRUST_REPORT);
const SEED = process.env.TRUST_SEED === undefined ? undefined : Number(process.env.TRUST_SEED);

type Json = string | string[] | Record<string, unknown>;

interface Token {
  readonly issuer: string;
  readonly claims: Readonly<Record<string, string | string[]>>;
}

interface Case {
  readonly document: Record<string, unknown>;
  readonly token: Token;
  /** Written only in the documented IRSA forms (see `documentedForm`). */
  readonly documented: boolean;
}

// ---------------------------------------------------------------------------------------------
// Generators

const SUBJECTS = [
  'system:serviceaccount:shop:api',
  'system:serviceaccount:shop:worker',
  'system:serviceaccount:kube-system:aws-node',
];
const AUDIENCES = ['sts.amazonaws.com', 'eks.amazonaws.com'];

const tokenArb: fc.Arbitrary<Token> = fc
  .record({
    issuer: fc.constantFrom(ISSUER_A, ISSUER_B),
    sub: fc.constantFrom(...SUBJECTS),
    aud: fc.option(fc.constantFrom(...AUDIENCES), { freq: 6, nil: undefined }),
    amr: fc.option(fc.constantFrom(['authenticated'], ['unauthenticated', 'x']), { freq: 3, nil: undefined }),
  })
  .map(({ issuer, sub, aud, amr }) => {
    const claims: Record<string, string | string[]> = { [`${issuer}:sub`]: sub };
    if (aud !== undefined) claims[`${issuer}:aud`] = aud;
    if (amr !== undefined) claims[`${issuer}:amr`] = [...amr];
    return { issuer, claims };
  });

/** A documented-form condition: StringEquals/StringLike on `<issuer>:sub` or `:aud`. */
const documentedValue = fc.constantFrom(
  ...SUBJECTS,
  ...AUDIENCES,
  'system:serviceaccount:shop:*',
  'system:serviceaccount:*',
  'system:serviceaccount:sho?:api',
  '*',
  '',
);
const variableValue = fc.constantFrom(
  `system:serviceaccount:shop:\${${ISSUER_A}:aud}`,
  `\${${ISSUER_A}:sub}`,
  `\${${ISSUER_B}:sub}`,
  "system:serviceaccount:${aws:username, 'shop'}:api",
  'system:serviceaccount:shop:${*}',
  'system:serviceaccount:shop:api${?}',
  '${$}',
);
const otherValue = fc.constantFrom(
  'true',
  'false',
  'True',
  'yes',
  'authenticated',
  `arn:aws:iam::${ACCOUNT}:*`,
  'arn:aws:*',
  'arn:*:*:*:*:*',
  provider(ISSUER_A),
);

const conditionKey = fc.constantFrom(
  `${ISSUER_A}:sub`,
  `${ISSUER_A}:aud`,
  `${ISSUER_B}:sub`,
  `${ISSUER_B}:aud`,
  `${ISSUER_A}:amr`,
  `${ISSUER_B}:amr`,
  `${ISSUER_A.toUpperCase()}:SUB`,
);

interface GenCondition {
  readonly operator: string;
  readonly key: string;
  readonly values: string[];
}

const documentedCondition: fc.Arbitrary<GenCondition> = fc.record({
  operator: fc.constantFrom(
    'StringEquals',
    'StringLike',
    'StringEquals',
    'StringLike',
    'ForAnyValue:StringEquals',
    'ForAnyValue:StringLike',
    'ForAnyValue:StringEqualsIfExists',
    'ForAnyValue:StringLikeIfExists',
    'StringEqualsIfExists',
    'StringLikeIfExists',
    'ForAllValues:StringEquals',
    'ForAllValues:StringLike',
  ),
  key: fc.constantFrom(`${ISSUER_A}:sub`, `${ISSUER_A}:aud`, `${ISSUER_B}:sub`, `${ISSUER_B}:aud`),
  values: fc.array(documentedValue, { minLength: 1, maxLength: 3 }),
});

const BASE_OPERATORS = [
  'StringEquals',
  'StringLike',
  'StringNotEquals',
  'StringNotLike',
  'StringEqualsIgnoreCase',
  'ArnLike',
  'ArnEquals',
  'ArnNotLike',
  'Bool',
  'Null',
];
const anyCondition: fc.Arbitrary<GenCondition> = fc
  .record({
    base: fc.constantFrom(...BASE_OPERATORS),
    qualifier: fc.constantFrom('', '', 'ForAnyValue:', 'ForAllValues:'),
    ifExists: fc.boolean(),
    key: conditionKey,
    values: fc.array(fc.oneof(documentedValue, variableValue, otherValue), { minLength: 1, maxLength: 3 }),
  })
  .map(({ base, qualifier, ifExists, key, values }) => ({
    operator: base === 'Null' ? 'Null' : `${qualifier}${base}${ifExists ? 'IfExists' : ''}`,
    key,
    values,
  }));

function conditionBlock(conditions: readonly GenCondition[]): Record<string, Record<string, Json>> {
  const block: Record<string, Record<string, Json>> = {};
  for (const c of conditions) {
    block[c.operator] ??= {};
    const values = c.values.length === 1 ? (c.values[0] as string) : c.values;
    (block[c.operator] as Record<string, Json>)[c.key] = values;
  }
  return block;
}

const documentedStatement = fc
  .record({
    issuer: fc.constantFrom(ISSUER_A, ISSUER_B),
    conditions: fc.array(documentedCondition, { maxLength: 3 }),
  })
  .map(({ issuer, conditions }) => {
    const statement: Record<string, unknown> = {
      Effect: 'Allow',
      Principal: { Federated: provider(issuer) },
      Action: ACTION,
    };
    if (conditions.length > 0) statement.Condition = conditionBlock(conditions);
    return statement;
  });

const principalArb: fc.Arbitrary<[string, unknown]> = fc.constantFrom<[string, unknown]>(
  ['Principal', { Federated: provider(ISSUER_A) }],
  ['Principal', { Federated: provider(ISSUER_B) }],
  ['Principal', { Federated: [provider(ISSUER_A), provider(ISSUER_B)] }],
  ['Principal', { AWS: '*' }],
  ['Principal', '*'],
  ['Principal', { AWS: provider(ISSUER_A) }],
  ['Principal', { AWS: `arn:aws:iam::${ACCOUNT}:root` }],
  ['Principal', { federated: provider(ISSUER_A) }],
  ['NotPrincipal', { AWS: 'arn:aws:iam::999999999999:root' }],
);
const actionArb: fc.Arbitrary<[string, unknown]> = fc.constantFrom<[string, unknown]>(
  ['Action', ACTION],
  ['Action', 'sts:*'],
  ['Action', '*'],
  ['Action', 'sts:AssumeRoleWith*'],
  ['Action', 'STS:assumerolewithwebidentity'],
  ['Action', ['sts:AssumeRole', 'sts:TagSession']],
  ['Action', '*:AssumeRoleWithWebIdentity'],
  ['NotAction', 'sts:AssumeRole'],
);

const anyStatement = fc
  .record({
    effect: fc.constantFrom('Allow', 'Allow', 'Deny'),
    principal: principalArb,
    action: actionArb,
    resource: fc.boolean(),
    conditions: fc.array(fc.oneof(documentedCondition, anyCondition), { maxLength: 3 }),
    lowerCaseEffect: fc.boolean(),
  })
  .map(({ effect, principal, action, resource, conditions, lowerCaseEffect }) => {
    const statement: Record<string, unknown> = {
      [lowerCaseEffect && effect === 'Deny' ? 'effect' : 'Effect']: effect,
      [principal[0]]: principal[1],
      [action[0]]: action[1],
    };
    if (resource && effect === 'Deny') statement.Resource = '*';
    if (conditions.length > 0) statement.Condition = conditionBlock(conditions);
    return statement;
  });

const caseArb: fc.Arbitrary<Case> = fc.oneof(
  fc
    .record({ statements: fc.array(documentedStatement, { minLength: 1, maxLength: 3 }), token: tokenArb })
    .map(({ statements, token }) => ({
      document: { Version: '2012-10-17', Statement: statements },
      token,
      documented: true,
    })),
  fc
    .record({
      version: fc.constantFrom<string | undefined>('2012-10-17', '2012-10-17', '2008-10-17', undefined),
      statements: fc.array(fc.oneof(documentedStatement, anyStatement), { minLength: 1, maxLength: 3 }),
      token: tokenArb,
    })
    .map(({ version, statements, token }) => ({
      document:
        version === undefined ? { Statement: statements } : { Version: version, Statement: statements },
      token,
      documented: false,
    })),
);

// ---------------------------------------------------------------------------------------------
// The two evaluators

type Verdict = 'allow' | 'not-allow' | 'refused';

function projectVerdict({ document, token }: Case): Verdict {
  const parsed = parsePolicyDocument(document);
  if (!parsed.ok) return 'refused';
  const evaluation = evaluatePolicy(parsed.policy, {
    action: ACTION,
    principal: { type: 'Federated', id: provider(token.issuer) },
    context: token.claims,
  });
  return evaluation.decision === 'allow' ? 'allow' : 'not-allow';
}

function simulatorVerdict(document: Record<string, unknown>, token: Token): Verdict {
  const policy = createValidatedPolicy(document, validateTrustPolicy, { name: 'trust-policy' });
  if (policy.errors.length > 0) return 'refused';
  const result = runUnsafeSimulation(
    {
      request: {
        principal: provider(token.issuer),
        action: ACTION,
        resource: { resource: ROLE_ARN, accountId: ACCOUNT },
        contextVariables: { ...token.claims },
      },
      identityPolicies: [],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      resourcePolicy: policy,
    },
    {},
  );
  return result === 'Allowed' ? 'allow' : 'not-allow';
}

// ---------------------------------------------------------------------------------------------
// Documented exception classes (docs/checks.md): where the project is right and the simulator not

function statementsOf(document: Record<string, unknown>): Record<string, unknown>[] {
  const statement = document.Statement;
  return (Array.isArray(statement) ? statement : [statement]) as Record<string, unknown>[];
}

function conditionValuesOf(document: Record<string, unknown>): string[] {
  return statementsOf(document).flatMap((s) =>
    Object.values((s.Condition ?? {}) as Record<string, Record<string, Json>>).flatMap((block) =>
      Object.values(block).flatMap((v) => (Array.isArray(v) ? v : [String(v)])),
    ),
  );
}

/**
 * The simulator's principal is an untyped string: `{"AWS": <provider ARN>}` matches the provider
 * there, and so does `{"AWS": <its account's root>}` (as for an IAM user of that account). The
 * simulator's verdict without those entries must then be the project's.
 */
function withoutUntypedProviderPrincipals(document: Record<string, unknown>): Record<string, unknown> {
  const statements = statementsOf(document).map((s) => {
    const principal = s.Principal as Record<string, unknown> | string | undefined;
    if (typeof principal !== 'object' || principal === null || !('AWS' in principal)) return s;
    const ids = ([] as unknown[]).concat(principal.AWS);
    const kept = ids.filter(
      (id) => typeof id !== 'string' || !(id.includes(':oidc-provider/') || id.includes(ACCOUNT)),
    );
    if (kept.length === ids.length) return s;
    return {
      ...s,
      Principal: { ...principal, AWS: kept.length > 0 ? kept : 'arn:aws:iam::999999999999:root' },
    };
  });
  return { ...document, Statement: statements };
}

type ExceptionClass = 'untyped-principal' | 'not-principal' | 'variables-outside-2012-10-17';

function exceptionClass(c: Case, project: Verdict, simulator: Verdict): ExceptionClass | null {
  const statements = statementsOf(c.document);
  // IAM refuses NotPrincipal in a role trust policy; the simulator's trust validator accepts it.
  if (project === 'refused' && simulator !== 'refused' && statements.some((s) => 'NotPrincipal' in s)) {
    return 'not-principal';
  }
  if (simulator === 'refused') return null;
  // IAM substitutes policy variables under Version 2012-10-17 only; the simulator in every version.
  if (c.document.Version !== '2012-10-17' && conditionValuesOf(c.document).some((v) => v.includes('${'))) {
    return 'variables-outside-2012-10-17';
  }
  if (simulatorVerdict(withoutUntypedProviderPrincipals(c.document), c.token) === project) {
    return 'untyped-principal';
  }
  return null;
}

// ---------------------------------------------------------------------------------------------

describe('trust evaluation against @cloud-copilot/iam-simulate', () => {
  it(`agrees except in the documented classes (numRuns ${NUM_RUNS})`, () => {
    const tally = { all: 0, agree: 0, documented: 0, documentedAgree: 0 };
    const classes = new Map<string, number>();
    fc.assert(
      fc.property(caseArb, (c) => {
        const project = projectVerdict(c);
        const simulator = simulatorVerdict(c.document, c.token);
        tally.all++;
        if (c.documented) tally.documented++;
        if (project === simulator) {
          tally.agree++;
          if (c.documented) tally.documentedAgree++;
          return;
        }
        const known =
          exceptionClass(c, project, simulator) ?? (REPORT ? `unexplained ${project}/${simulator}` : null);
        if (known !== null) {
          classes.set(known, (classes.get(known) ?? 0) + 1);
          if (REPORT && known.startsWith('unexplained') && (classes.get(known) ?? 0) <= 3)
            console.log(JSON.stringify(c));
          return;
        }
        expect.fail(
          `project says ${project}, simulator says ${simulator}, outside the documented classes:\n${JSON.stringify(
            c,
            null,
            1,
          )}`,
        );
      }),
      { numRuns: NUM_RUNS, ...(SEED === undefined ? {} : { seed: SEED }) },
    );
    if (REPORT) {
      const pct = (n: number, d: number) => `${((100 * n) / Math.max(d, 1)).toFixed(1)}%`;
      console.log(
        `agreement ${tally.agree}/${tally.all} (${pct(tally.agree, tally.all)}); documented forms ${
          tally.documentedAgree
        }/${tally.documented} (${pct(tally.documentedAgree, tally.documented)}); exceptions ${JSON.stringify(
          Object.fromEntries(classes),
        )}`,
      );
    }
    expect(tally.all).toBe(NUM_RUNS);
  }, 60_000);
});
