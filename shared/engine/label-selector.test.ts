import { describe, expect, it } from 'vitest';
import type { LabelSelector } from '../model/fleet.ts';
import {
  describeSelector,
  namespaceByName,
  SHOWN_LABEL_LENGTH,
  SHOWN_SELECTOR_LENGTH,
  selectorVerdict,
  shownLabels,
} from './label-selector.ts';

function selector(
  matchLabels: Record<string, string>,
  matchExpressions: { key: string; operator: string; values?: string[] }[] = [],
): LabelSelector {
  return { matchLabels, matchExpressions: matchExpressions.map((e) => ({ ...e, values: e.values ?? [] })) };
}
const pod = (labels: Record<string, string>) => ({ labels, complete: true });

describe('selectorVerdict', () => {
  it('an empty selector matches everything, even unknown labels', () => {
    expect(selectorVerdict(selector({}), pod({}))).toBe('match');
    expect(selectorVerdict(selector({}), namespaceByName('x'))).toBe('match');
  });

  it('matchLabels needs every pair', () => {
    const s = selector({ app: 'web', tier: 'front' });
    expect(selectorVerdict(s, pod({ app: 'web', tier: 'front', x: '1' }))).toBe('match');
    expect(selectorVerdict(s, pod({ app: 'web' }))).toBe('no-match');
    expect(selectorVerdict(s, pod({ app: 'web', tier: 'back' }))).toBe('no-match');
  });

  it('In, NotIn, Exists, DoesNotExist', () => {
    const inS = selector({}, [{ key: 'env', operator: 'In', values: ['prod', 'stage'] }]);
    expect(selectorVerdict(inS, pod({ env: 'prod' }))).toBe('match');
    expect(selectorVerdict(inS, pod({ env: 'dev' }))).toBe('no-match');
    expect(selectorVerdict(inS, pod({}))).toBe('no-match');
    const notIn = selector({}, [{ key: 'env', operator: 'NotIn', values: ['prod'] }]);
    expect(selectorVerdict(notIn, pod({}))).toBe('match'); // an absent key satisfies NotIn
    expect(selectorVerdict(notIn, pod({ env: 'dev' }))).toBe('match');
    expect(selectorVerdict(notIn, pod({ env: 'prod' }))).toBe('no-match');
    const exists = selector({}, [{ key: 'skip', operator: 'Exists' }]);
    expect(selectorVerdict(exists, pod({ skip: '' }))).toBe('match'); // an empty value still exists
    expect(selectorVerdict(exists, pod({}))).toBe('no-match');
    const absent = selector({}, [{ key: 'skip', operator: 'DoesNotExist' }]);
    expect(selectorVerdict(absent, pod({ skip: 'false' }))).toBe('no-match');
    expect(selectorVerdict(absent, pod({}))).toBe('match');
  });

  it('matchLabels and matchExpressions are ANDed', () => {
    const s = selector({ app: 'web' }, [{ key: 'skip', operator: 'DoesNotExist' }]);
    expect(selectorVerdict(s, pod({ app: 'web' }))).toBe('match');
    expect(selectorVerdict(s, pod({ app: 'web', skip: 'true' }))).toBe('no-match');
    expect(selectorVerdict(s, pod({ skip: 'true' }))).toBe('no-match');
  });

  it('a namespace known by name only: decided on kubernetes.io/metadata.name, unknown otherwise', () => {
    const byName = selector({}, [
      { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'batch'] },
    ]);
    expect(selectorVerdict(byName, namespaceByName('batch'))).toBe('no-match');
    expect(selectorVerdict(byName, namespaceByName('web'))).toBe('match');
    const other = selector({ 'team.example.com/irsa': 'enabled' });
    expect(selectorVerdict(other, namespaceByName('web'))).toBe('unknown');
    // One decided exclusion settles it even beside an unknown requirement.
    const both = selector({ 'team.example.com/irsa': 'enabled' }, [
      { key: 'kubernetes.io/metadata.name', operator: 'In', values: ['web'] },
    ]);
    expect(selectorVerdict(both, namespaceByName('batch'))).toBe('no-match');
    expect(selectorVerdict(both, namespaceByName('web'))).toBe('unknown');
  });

  it('an operator the API server would reject is unknown, not a match', () => {
    expect(
      selectorVerdict(selector({}, [{ key: 'a', operator: 'Gt', values: ['1'] }]), pod({ a: '2' })),
    ).toBe('unknown');
  });
});

describe('describeSelector', () => {
  it('writes each requirement the way kubectl does', () => {
    expect(describeSelector(selector({}))).toBe('{} (everything)');
    expect(
      describeSelector(
        selector({ app: 'web' }, [
          { key: 'env', operator: 'NotIn', values: ['a', 'b'] },
          { key: 'skip', operator: 'DoesNotExist' },
          { key: 'x', operator: 'Exists' },
        ]),
      ),
    ).toBe('app=web, env notin (a,b), !skip, x');
  });

  it('cuts what no Kubernetes label can be (a hostile snapshot), never a valid key or value', () => {
    const huge = 'a'.repeat(100_000);
    const longest = `${'p'.repeat(253)}/${'n'.repeat(63)}`;
    // Valid keys and values, at Kubernetes' limits, are shown whole.
    expect(describeSelector(selector({ [longest]: 'v'.repeat(63) }))).toBe(`${longest}=${'v'.repeat(63)}`);
    expect(shownLabels({ [longest]: 'v'.repeat(63) })).toEqual({ [longest]: 'v'.repeat(63) });
    // A 100,000-character value is cut, once, and so is a selector of many values.
    const described = describeSelector(
      selector({ app: huge }, [{ key: 'k', operator: 'In', values: [huge, huge] }]),
    );
    expect(described.length).toBeLessThanOrEqual(SHOWN_SELECTOR_LENGTH);
    expect(described.startsWith(`app=${'a'.repeat(SHOWN_LABEL_LENGTH - 1)}…`)).toBe(true);
    const shown = shownLabels({ [huge]: huge, app: 'web' });
    expect(Object.keys(shown).map((k) => k.length)).toEqual([SHOWN_LABEL_LENGTH, 3]);
    expect(Object.values(shown).map((v) => v.length)).toEqual([SHOWN_LABEL_LENGTH, 3]);
  });
});
