/**
 * Can a policy's `Resource` entry ever match an ARN of a given resource type? IRSA-023 asks it for
 * every action of an Allow statement: IAM authorises a request on the ARN of the resource the
 * action acts on, so an entry that matches no ARN of any of the action's resource types grants
 * nothing for that action (`s3:ListBucket` acts on a bucket, `arn:aws:s3:::b`, never on
 * `arn:aws:s3:::b/*`).
 *
 * Both sides are patterns: the entry a glob (`*` any run of characters, `?` one character; a
 * policy variable `${aws:username}` is taken as `*`, its value being unknown here, and `${*}`,
 * `${?}`, `${$}` as the literal character), the resource type an ARN template from the Service
 * Authorization Reference (`arn:${Partition}:s3:::${BucketName}/${ObjectName}`) whose variables
 * stand for non-empty values. The answer is whether the two patterns have a string in common,
 * decided exactly on their automata (a walk over pairs of positions: time and memory linear in the
 * product of their lengths).
 *
 * What a variable may hold is over-approximated, so that the check errs on the side of "can match"
 * and never reports a statement that works: a variable in the ARN's partition, service, region or
 * account field holds no `:`; a variable in the resource part holds anything, except the one name
 * whose rule is both documented and decisive for the seeds' story, an S3 bucket name (lower-case
 * letters, digits, `.` and `-`: so `arn:aws:s3:::b/*` is no bucket).
 */

/** One character class: a literal character, or a predicate over characters. */
interface CharSet {
  readonly literal?: string;
  readonly test: (char: string) => boolean;
}

/** A pattern position: exactly one character of `set`, or any run (possibly empty) of them. */
interface Token {
  readonly star: boolean;
  readonly set: CharSet;
}

const ANY: CharSet = { test: () => true };
const NOT_COLON: CharSet = { test: (c) => c !== ':' };
/** S3 bucket naming rules: https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html */
const BUCKET_CHAR: CharSet = { test: (c) => /^[a-z0-9.-]$/.test(c) };

/**
 * Each character's token, made once: a pattern has a token per character, and an entry of an
 * untrusted snapshot may be hundreds of thousands of characters long (a token and a closure made
 * for each character, on each of the many matches IRSA-023 tries on it, took seconds). At most one
 * per UTF-16 code unit, as a pattern is read by them.
 */
const LITERALS = new Map<string, Token>();

function literal(char: string): Token {
  let token = LITERALS.get(char);
  if (token === undefined) {
    token = { star: false, set: { literal: char, test: (c) => c === char } };
    LITERALS.set(char, token);
  }
  return token;
}

function meets(a: CharSet, b: CharSet): boolean {
  if (a.literal !== undefined) return b.test(a.literal);
  if (b.literal !== undefined) return a.test(b.literal);
  // Two open classes: each excludes at most a few characters, so they share one.
  return true;
}

/** The tokens of a policy's Resource glob. */
export function globTokens(glob: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === '$' && glob[i + 1] === '{') {
      const close = glob.indexOf('}', i + 2);
      if (close !== -1) {
        const name = glob.slice(i + 2, close);
        if (name === '*' || name === '?' || name === '$') tokens.push(literal(name));
        else tokens.push({ star: true, set: ANY });
        i = close;
        continue;
      }
    }
    if (char === '*') tokens.push({ star: true, set: ANY });
    else if (char === '?') tokens.push({ star: false, set: ANY });
    else tokens.push(literal(char));
  }
  return tokens;
}

/** The tokens of an ARN template; each `${Variable}` is one character of its class, then any more. */
export function templateTokens(template: string): Token[] {
  const tokens: Token[] = [];
  let colons = 0;
  for (let i = 0; i < template.length; i++) {
    const char = template[i] as string;
    if (char === '$' && template[i + 1] === '{') {
      const close = template.indexOf('}', i + 2);
      if (close !== -1) {
        const name = template.slice(i + 2, close);
        const set = colons < 5 ? NOT_COLON : name === 'BucketName' ? BUCKET_CHAR : ANY;
        tokens.push({ star: false, set }, { star: true, set });
        i = close;
        continue;
      }
    }
    if (char === ':') colons++;
    tokens.push(literal(char));
  }
  return tokens;
}

/** Whether some string matches both token lists. */
export function intersects(a: readonly Token[], b: readonly Token[]): boolean {
  const width = b.length + 1;
  const seen = new Uint8Array((a.length + 1) * width);
  const stack: number[] = [0];
  seen[0] = 1;
  const visit = (i: number, j: number) => {
    const state = i * width + j;
    if (seen[state] === 0) {
      seen[state] = 1;
      stack.push(state);
    }
  };
  while (stack.length > 0) {
    const state = stack.pop() as number;
    const i = Math.floor(state / width);
    const j = state % width;
    if (i === a.length && j === b.length) return true;
    const ta = a[i];
    const tb = b[j];
    // A run may be empty.
    if (ta?.star) visit(i + 1, j);
    if (tb?.star) visit(i, j + 1);
    // Or both sides read one character they share; a run stays where it is.
    if (ta && tb && meets(ta.set, tb.set) && !(ta.star && tb.star)) {
      visit(ta.star ? i : i + 1, tb.star ? j : j + 1);
    }
  }
  return false;
}

/** Whether the Resource entry `glob` can match some ARN of the template. */
export function canMatchTemplate(glob: string, template: string): boolean {
  return intersects(globTokens(glob), templateTokens(template));
}

/** Whether the Resource entry can be `*`, which is all an action without resource types is authorised on. */
export function canBeStar(glob: string): boolean {
  return intersects(globTokens(glob), [literal('*')]);
}
