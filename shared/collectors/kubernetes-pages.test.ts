import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { growableBuffer } from './kubernetes.ts';
import {
  decodePage,
  decodePageItems,
  encodeLines,
  kubernetesListJson,
  kubernetesListParts,
  peekContinue,
  splitListPage,
} from './kubernetes-pages.ts';
import { createPageDecoderPool, defaultDecodeThreads } from './page-decoder-pool.ts';

const bytes = (value: unknown) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
/** `value`'s bytes in a resizable ArrayBuffer with room to grow, as getPage reads a page (kubernetes.ts). */
function resizableBytes(value: unknown): Uint8Array {
  const fixed = bytes(value);
  const buffer = growableBuffer(fixed.length * 4);
  if (!buffer) throw new Error('no growable buffer could be reserved');
  expect(buffer.resizable).toBe(true);
  buffer.resize(fixed.length);
  const body = new Uint8Array(buffer, 0, fixed.length);
  body.set(fixed);
  return body;
}
/** Page lines as text, whether a decoder gave text or UTF-8 bytes. */
const text = (lines: string | Uint8Array) =>
  typeof lines === 'string' ? lines : new TextDecoder().decode(lines);

const POD = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: {
    name: 'api-1',
    namespace: 'shop',
    labels: { app: 'api' },
    annotations: { note: 'x' },
    uid: 'u-1',
    managedFields: [{ manager: 'kubelet', fieldsV1: { 'f:status': {} } }],
    ownerReferences: [{ kind: 'ReplicaSet', name: 'api-7d', controller: true, uid: 'r-1' }],
  },
  spec: {
    serviceAccountName: 'api',
    nodeName: 'node-1',
    containers: [
      {
        name: 'app',
        image: 'shop/api:1',
        env: [
          { name: 'AWS_ROLE_ARN', value: 'arn:aws:iam::111122223333:role/api' },
          { name: 'DB_PASSWORD', value: 'hunter2' },
          { name: 'AWS_REGION', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } },
        ],
      },
    ],
    volumes: [
      {
        name: 'aws-iam-token',
        projected: {
          sources: [
            { serviceAccountToken: { audience: 'sts.amazonaws.com', path: 'token' } },
            { configMap: { name: 'other' } },
          ],
        },
      },
      { name: 'data', emptyDir: {} },
    ],
  },
  status: { phase: 'Running', podIP: '10.0.0.1' },
};

/** A pod given static credentials: literals, Secret references, and its manifest in an annotation. */
const CREDENTIAL_POD = {
  kind: 'Pod',
  metadata: {
    name: 'legacy-1',
    namespace: 'shop',
    annotations: {
      note: 'x',
      'kubectl.kubernetes.io/last-applied-configuration':
        '{"spec":{"containers":[{"env":[{"name":"AWS_ACCESS_KEY_ID","value":"AKIAEXAMPLEKEY"}]}]}}',
    },
  },
  spec: {
    serviceAccountName: 'legacy',
    initContainers: [{ name: 'init', env: [{ name: 'AWS_ACCESS_KEY_ID', value: 'AKIAEXAMPLEINIT' }] }],
    containers: [
      {
        name: 'app',
        env: [
          { name: 'AWS_ACCESS_KEY_ID', value: 'AKIAEXAMPLEKEY' },
          { name: 'AWS_SECRET_ACCESS_KEY', value: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
          { name: 'AWS_SESSION_TOKEN', value: 'FwoGZXIvYXdzEXAMPLE' },
          {
            name: 'AWS_SECRET_ACCESS_KEY',
            valueFrom: { secretKeyRef: { name: 'aws', key: 'secret', optional: true, extra: 'x' } },
          },
          { name: 'AWS_SESSION_TOKEN', value: '' },
          { name: 'AWS_ROLE_SESSION_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'AWS_PROFILE', valueFrom: 'not an object' },
        ],
      },
    ],
  },
};

const CREDENTIAL_ENV_TRIMMED = [
  { name: 'AWS_ACCESS_KEY_ID', value: '<redacted>' },
  { name: 'AWS_SECRET_ACCESS_KEY', value: '<redacted>' },
  { name: 'AWS_SESSION_TOKEN', value: '<redacted>' },
  {
    name: 'AWS_SECRET_ACCESS_KEY',
    valueFrom: { secretKeyRef: { name: 'aws', key: 'secret', optional: true } },
  },
  // An empty value hides nothing: it says the variable is set to nothing (IRSA-034 reads it so).
  { name: 'AWS_SESSION_TOKEN', value: '' },
  { name: 'AWS_ROLE_SESSION_NAME', valueFrom: { fieldRef: {} } },
  { name: 'AWS_PROFILE' },
];

const SERVICE_ACCOUNT = {
  apiVersion: 'v1',
  kind: 'ServiceAccount',
  metadata: {
    name: 'api',
    namespace: 'shop',
    annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/api' },
    managedFields: [
      { manager: 'kubectl', time: '2026-01-02T03:04:05Z', fieldsV1: { 'f:metadata': { 'f:labels': {} } } },
      {
        manager: 'kubectl-annotate',
        time: '2026-02-03T04:05:06Z',
        fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:eks.amazonaws.com/role-arn': {} } } },
      },
    ],
  },
};

describe('decodePage', () => {
  it('keeps only what the checks read, and never the values of other environment variables', () => {
    const page = decodePage('Pod', bytes({ kind: 'PodList', metadata: {}, items: [POD] }));
    expect(page.count).toBe(1);
    expect(page.continue).toBeUndefined();
    expect(page.items).toBeUndefined();
    expect(page.lines).not.toContain('\n');
    const pod = JSON.parse(page.lines);
    expect(pod.metadata).toEqual({
      name: 'api-1',
      namespace: 'shop',
      annotations: { note: 'x' },
      labels: { app: 'api' },
      ownerReferences: [{ kind: 'ReplicaSet', name: 'api-7d', controller: true }],
    });
    expect(pod.spec.containers).toEqual([
      {
        name: 'app',
        env: [
          { name: 'AWS_ROLE_ARN', value: 'arn:aws:iam::111122223333:role/api' },
          { name: 'AWS_REGION', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } },
        ],
      },
    ]);
    expect(page.lines).not.toContain('hunter2');
    expect(pod.spec.volumes).toEqual([
      {
        name: 'aws-iam-token',
        projected: { sources: [{ serviceAccountToken: { audience: 'sts.amazonaws.com' } }] },
      },
      { name: 'data' },
    ]);
    expect(pod.status).toEqual({ phase: 'Running' });
  });

  it('keeps what IRSA-003/004/062/063 read of a MutatingWebhookConfiguration, and nothing else', () => {
    const config = {
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'pod-identity-webhook', uid: 'u', managedFields: [{ manager: 'eks' }] },
      webhooks: [
        {
          name: 'iam-for-pods.amazonaws.com',
          admissionReviewVersions: ['v1beta1'],
          clientConfig: { caBundle: 'Q0E=', url: 'https://127.0.0.1:23443/mutate' },
          failurePolicy: 'Ignore',
          namespaceSelector: {},
          objectSelector: {
            matchExpressions: [
              { key: 'eks.amazonaws.com/skip-pod-identity-webhook', operator: 'DoesNotExist' },
            ],
          },
          rules: [{ operations: ['CREATE'], resources: ['pods'] }],
        },
        {
          name: 'self.example.com',
          clientConfig: { service: { namespace: 'kube-system', name: 'piw', port: 443 } },
          failurePolicy: 'Fail',
          namespaceSelector: { matchLabels: { a: 'b' } },
          objectSelector: {},
        },
      ],
    };
    const page = decodePage('MutatingWebhookConfiguration', bytes({ items: [config] }));
    expect(JSON.parse(page.lines)).toEqual({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'pod-identity-webhook' },
      webhooks: [
        {
          name: 'iam-for-pods.amazonaws.com',
          clientConfig: { caBundle: 'Q0E=', url: 'https://127.0.0.1:23443/mutate' },
          failurePolicy: 'Ignore',
          namespaceSelector: {},
          objectSelector: {
            matchExpressions: [
              { key: 'eks.amazonaws.com/skip-pod-identity-webhook', operator: 'DoesNotExist' },
            ],
          },
        },
        {
          name: 'self.example.com',
          clientConfig: { service: { namespace: 'kube-system', name: 'piw' } },
          failurePolicy: 'Fail',
          namespaceSelector: { matchLabels: { a: 'b' } },
          objectSelector: {},
        },
      ],
    });
  });

  it('never keeps an AWS credential: a literal is redacted, a reference keeps only its name and key', () => {
    const page = decodePage('Pod', bytes({ items: [CREDENTIAL_POD] }));
    expect(page.lines).not.toMatch(/AKIAEXAMPLE|wJalrXUtnFEMI|FwoGZXIv|last-applied|metadata\.name/);
    const pod = JSON.parse(page.lines);
    expect(pod.metadata.annotations).toEqual({ note: 'x' });
    expect(pod.spec.initContainers[0].env).toEqual([{ name: 'AWS_ACCESS_KEY_ID', value: '<redacted>' }]);
    expect(pod.spec.containers[0].env).toEqual(CREDENTIAL_ENV_TRIMMED);
  });

  it('keeps the EKS Pod Identity variables as set (a URI and a file path, no credential: PODID-005 reads them)', () => {
    const env = [
      { name: 'AWS_CONTAINER_CREDENTIALS_FULL_URI', value: 'http://169.254.170.23/v1/credentials' },
      {
        name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE',
        value: '/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token',
      },
      { name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN', value: 'tok-secret' },
    ];
    const item = { metadata: { name: 'p', namespace: 'n' }, spec: { containers: [{ name: 'app', env }] } };
    const pod = JSON.parse(decodePage('Pod', bytes({ items: [item] })).lines);
    expect(pod.spec.containers[0].env).toEqual([
      env[0],
      env[1],
      { name: 'AWS_CONTAINER_AUTHORIZATION_TOKEN', value: '<redacted>' },
    ]);
  });

  it('names what is wrong with a page that is not JSON without quoting the page (a value may be next to the fault)', () => {
    const secret = 'Zt8qW3mJx5Rv0LkN7pYc2HbF9sDg4TaE6uQiOw1V';
    const item = `{"spec":{"containers":[{"env":[{"name":"AWS_SECRET_ACCESS_KEY","value":"${secret}"}]}]}}`;
    for (const body of [
      `{"items":[${item}, x ,{}]}`,
      `{"items":[${item.slice(0, -6)} x`,
      `${secret}`,
      `{"items":[${item}]} ${secret}`,
    ]) {
      const page = decodePage('Pod', bytes(body));
      expect(page.malformed).toMatch(/^the Pod list page is not JSON: \S/);
      for (let start = 0; start + 6 <= secret.length; start++) {
        expect(page.malformed).not.toContain(secret.slice(start, start + 6));
      }
    }
    // The position, where V8 gives one, is kept.
    expect(decodePage('Pod', bytes('{"items":[1 2]}')).malformed).toMatch(/at position 12$/);
  });

  it('returns ServiceAccounts as objects too, with only the managedFields entry that wrote the role-arn', () => {
    const page = decodePage(
      'ServiceAccount',
      bytes({ kind: 'ServiceAccountList', metadata: { continue: 'next-page' }, items: [SERVICE_ACCOUNT] }),
    );
    expect(page.continue).toBe('next-page');
    expect(page.items).toEqual([JSON.parse(page.lines)]);
    const [serviceAccount] = (page.items ?? []) as (typeof SERVICE_ACCOUNT)[];
    expect(serviceAccount?.metadata.managedFields).toEqual([
      {
        time: '2026-02-03T04:05:06Z',
        fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:eks.amazonaws.com/role-arn': {} } } },
      },
    ]);
  });

  it('writes one line per item, joined so that pages concatenate into one list', () => {
    const page = decodePage(
      'Pod',
      bytes({ items: [POD, { ...POD, metadata: { ...POD.metadata, name: 'api-2' } }] }),
    );
    expect(page.count).toBe(2);
    expect(page.lines.split(',\n').map((line) => JSON.parse(line).metadata.name)).toEqual(['api-1', 'api-2']);
  });

  it('decodes a page in a resizable buffer (as getPage reads it) as the same bytes in a fixed one, leaving it as it was', () => {
    const page = {
      metadata: { continue: 'c' },
      items: [POD, CREDENTIAL_POD, { ...POD, metadata: { name: 'é' } }],
    };
    const body = resizableBytes(page);
    const before = body.slice();
    expect(decodePage('Pod', body)).toEqual(decodePage('Pod', bytes(page)));
    expect(decodePageItems('Pod', body)).toEqual(decodePageItems('Pod', bytes(page)));
    expect(body).toEqual(before);
    expect(decodePage('Pod', resizableBytes('nope')).malformed).toMatch(/not JSON/);
  });

  it('decodes a page read item by item as it decodes the same items parsed whole', () => {
    const head = '{"kind":"PodList","apiVersion":"v1","metadata":{"continue":"c"}';
    for (const [kind, items] of [
      ['Pod', [POD, CREDENTIAL_POD, { ...POD, metadata: { name: 'é' } }]],
      ['ServiceAccount', [SERVICE_ACCOUNT, { metadata: { name: 'plain', namespace: 'x' } }]],
    ] as const) {
      const list = `${head},"items":[${items.map((i) => JSON.stringify(i)).join(',')}]`;
      // As the API server lays a list out (read item by item) ...
      const split = bytes(`${list}}`);
      expect(splitListPage(split)).not.toBeNull();
      // ... and with a key after the items, which only the whole parse reads.
      const whole = bytes(`${list},"extra":1}`);
      expect(splitListPage(whole)).toBeNull();
      const decoded = decodePageItems(kind, split);
      expect(decoded.count).toBe(items.length);
      expect(decoded).toEqual(decodePageItems(kind, whole));
    }
  });

  it('judges a page whose later item is not JSON by the whole parse, whatever came before it', () => {
    const page = decodePage(
      'Pod',
      bytes(`{"kind":"PodList","metadata":{},"items":[${JSON.stringify(POD)},{"a":tru}]}`),
    );
    expect(page.malformed).toMatch(/^the Pod list page is not JSON/);
    expect(page.count).toBe(0);
    expect(page.lines).toBe('');
  });

  it.each([
    ['ownerReferences that is a string', 'Pod', { metadata: { name: 'p', ownerReferences: 'x' } }],
    ['containers that is a string', 'Pod', { spec: { containers: 'x' } }],
    ['an env that is a string', 'Pod', { spec: { containers: [{ name: 'c', env: 'x' }] } }],
    ['a container that is null', 'Pod', { spec: { containers: [null] } }],
    ['volumes that is a number', 'Pod', { spec: { volumes: 5 } }],
    ['managedFields that is a string', 'ServiceAccount', { metadata: { name: 's', managedFields: 'x' } }],
    ['webhooks that is a string', 'MutatingWebhookConfiguration', { metadata: { name: 'w' }, webhooks: 'x' }],
  ] as const)(
    'names the item whose field has a type the API server never gives it (%s), and never throws',
    (_, kind, bad) => {
      const good =
        kind === 'Pod' ? POD : kind === 'ServiceAccount' ? SERVICE_ACCOUNT : { metadata: { name: 'ok' } };
      const items = JSON.stringify([good, bad]).slice(1, -1);
      // Read item by item, as the API server lays a list out, and parsed whole (a key after the items).
      for (const text of [
        `{"kind":"List","metadata":{},"items":[${items}]}`,
        `{"kind":"List","metadata":{},"items":[${items}],"extra":1}`,
      ]) {
        const page = decodePage(kind, bytes(text));
        expect(page.malformed, text).toMatch(
          new RegExp(
            `^item 1 of the ${kind} list page is not shaped as a ${kind} \\(a field has a type the API server never gives it: (.+ is not a function|Cannot read properties of null \\(reading '\\w+'\\))\\)$`,
          ),
        );
        expect(page.count).toBe(0);
        expect(page.lines).toBe('');
      }
    },
  );

  it.each([
    ['not JSON', '<html>proxy error</html>', /Pod list page is not JSON/],
    ['no items', { kind: 'Status', message: 'x' }, /Pod list page has no items array/],
    ['a null item', { items: [POD, null] }, /item 1 of the Pod list page is not an object/],
  ])('names what is wrong with a body that is %s, and never throws', (_, body, message) => {
    const page = decodePage('Pod', bytes(body));
    expect(page.malformed).toMatch(message);
    expect(page.count).toBe(0);
  });
});

describe('peekContinue', () => {
  const page = (metadata: Record<string, unknown>) =>
    bytes({ kind: 'PodList', apiVersion: 'v1', metadata, items: [POD, POD] });

  it('reads the continue token from the head, as the API server lays a list out', () => {
    expect(peekContinue(page({ resourceVersion: '7', continue: 'eyJ2IjoxfQ', remainingItemCount: 3 }))).toBe(
      'eyJ2IjoxfQ',
    );
  });

  it('says undefined on the last page, which has no continue token (or an empty one)', () => {
    expect(peekContinue(page({ resourceVersion: '7' }))).toBeUndefined();
    expect(peekContinue(page({ resourceVersion: '7', continue: '' }))).toBeUndefined();
  });

  it('says null, leaving it to the full decode, when the head is not where the API server puts it', () => {
    expect(peekContinue(bytes({ items: [POD], metadata: { continue: 'x' } }))).toBeNull();
    expect(peekContinue(bytes({ kind: 'Status', message: 'x' }))).toBeNull();
    expect(peekContinue(new TextEncoder().encode('<html>,"items":[</html>'))).toBeNull();
    // An annotation named "items" cuts the head short: it does not parse, so no guess.
    expect(peekContinue(page({ annotations: { a: 'b', items: 'c' }, continue: 'x' }))).toBeNull();
    // Inside a string, quotes are escaped: text like `,"items":` there is not mistaken for the key.
    expect(peekContinue(page({ annotations: { 'a,"items":': 'b' }, continue: 'x' }))).toBe('x');
  });

  it('agrees with the full decode of the same page', () => {
    const body = page({ continue: 'next' });
    expect(peekContinue(body)).toBe(decodePage('Pod', body).continue);
  });
});

describe('splitListPage', () => {
  const head = '{"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"7","continue":"n"}';
  const tricky = {
    metadata: { name: 'a', annotations: { 'x}': '{[', quote: 'say "}" \\', slash: '\\', uni: 'é中😀' } },
    spec: { containers: [{ name: 'c', env: [{ name: 'AWS_ROLE_ARN', value: '"]}' }] }] },
  };
  const canonical = (items: unknown[]) =>
    `${head},"items":[${items.map((i) => JSON.stringify(i)).join(',')}]}`;

  it('reads a page laid out as the API server writes it item by item, to the objects a whole parse gives', () => {
    for (const items of [[], [POD], [POD, tricky, {}, POD]]) {
      const text = canonical(items);
      const split = splitListPage(bytes(text));
      expect(split, text).toEqual({ items, metadata: { resourceVersion: '7', continue: 'n' } });
      // Whitespace between the items, as a server may indent, is read the same way.
      const spaced = `${head},"items": [ ${items.map((i) => JSON.stringify(i)).join(' ,\n ')} ] }\n`;
      expect(splitListPage(bytes(spaced))).toEqual(split);
    }
  });

  it('leaves any other page to the whole parse, which words its faults', () => {
    const others = [
      // another "items" after the list (JSON keeps the last one)
      `${head},"items":[{"a":1}],"items":[{"b":2}]}`,
      // an item that is not an object, or not JSON
      `${head},"items":[{"a":1},[1]]}`,
      `${head},"items":[{"a":1},null]}`,
      `${head},"items":[{"a":tru}]}`,
      `${head},"items":[{"a":1} {"b":2}]}`,
      // cut short, inside a string or between items
      `${head},"items":[{"a":"}`,
      `${head},"items":[{"a":1},`,
      `${head},"items":[{"a":1}]`,
      // something after the list, or a byte-order mark before it
      `${head},"items":[{"a":1}]}x`,
      `\ufeff${head},"items":[{"a":1}]}`,
      // no head, a head that is not an object, items that are not an array
      '{"items":[{"a":1}]}',
      '[1,"items":[{"a":1}]]',
      `${head},"items":{"a":1}}`,
    ];
    for (const text of others) expect(splitListPage(bytes(text)), text).toBeNull();
    // Those pages decode as before: from the whole parse.
    expect(decodePage('Pod', bytes(others[0] as string)).count).toBe(1);
    expect(decodePage('Pod', bytes(others[2] as string)).malformed).toBe(
      'item 1 of the Pod list page is not an object',
    );
    expect(decodePage('Pod', bytes(others[3] as string)).malformed).toMatch(/^the Pod list page is not JSON/);
    expect(decodePage('Pod', bytes(others[9] as string)).count).toBe(1);
  });

  it('hands each item to the map as soon as it is parsed, before the next is read', () => {
    const text = canonical([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect(splitListPage(bytes(text), (item) => (item as { n: number }).n * 10)).toEqual({
      items: [10, 20, 30],
      metadata: { resourceVersion: '7', continue: 'n' },
    });
    // The map saw the first item before the second turned out not to be JSON: the page's
    // parsed items are never all alive at once (a decode thread trims each as it comes).
    const seen: unknown[] = [];
    const broken = `${head},"items":[{"n":1},{"n":tru},{"n":3}]}`;
    expect(splitListPage(bytes(broken), (item) => seen.push(item))).toBeNull();
    expect(seen).toEqual([{ n: 1 }]);
  });

  it('gives the same objects as JSON.parse for any items (property)', () => {
    const item = fc.dictionary(fc.string({ unit: 'binary' }), fc.jsonValue(), { maxKeys: 6 });
    fc.assert(
      fc.property(fc.array(item, { maxLength: 6 }), (items) => {
        const text = canonical(items);
        expect(splitListPage(bytes(text))).toEqual({
          items: JSON.parse(text).items,
          metadata: JSON.parse(text).metadata,
        });
      }),
      { numRuns: 150 },
    );
  });
});

describe('encodeLines', () => {
  it('gives the bytes of the lines joined by ",\\n", in an ArrayBuffer of their own', () => {
    for (const lines of [[], ['{}'], ['{"a":"é"}', '{"b":"中😀"}', '{}']]) {
      const encoded = encodeLines(lines);
      expect(Buffer.from(encoded).equals(Buffer.from(new TextEncoder().encode(lines.join(',\n'))))).toBe(
        true,
      );
      expect(encoded.byteOffset).toBe(0);
      expect(encoded.buffer.byteLength).toBe(encoded.byteLength);
    }
  });

  it('encodes what decodePage joins, line for line', () => {
    const body = bytes({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [POD, POD] });
    const joined = decodePage('Pod', body).lines;
    expect(new TextDecoder().decode(encodeLines(decodePageItems('Pod', body).lines))).toBe(joined);
  });
});

describe('kubernetesListJson', () => {
  it('writes the List of docs/fleet-format.md with one item per line, from the pages of each kind', () => {
    const sa = decodePage('ServiceAccount', bytes({ items: [SERVICE_ACCOUNT] }));
    const empty = decodePage('MutatingWebhookConfiguration', bytes({ items: [] }));
    const pods = decodePage('Pod', bytes({ items: [POD, POD] }));
    const file = {
      collected: ['ServiceAccount', 'Pod', 'MutatingWebhookConfiguration'] as const,
      chunks: [sa.lines, empty.lines, pods.lines],
    };
    const json = kubernetesListJson({ ...file, collected: [...file.collected] });
    const list = JSON.parse(json);
    expect(list.apiVersion).toBe('v1');
    expect(list.kind).toBe('List');
    expect(list.collected).toEqual(['ServiceAccount', 'Pod', 'MutatingWebhookConfiguration']);
    expect(list.items.map((i: { kind: string }) => i.kind)).toEqual(['ServiceAccount', 'Pod', 'Pod']);
    const lines = json.split('\n');
    expect(lines[1]).toBe('"items": [');
    expect(lines.slice(2, 5).map((line) => JSON.parse(line.replace(/,$/, '')).kind)).toEqual([
      'ServiceAccount',
      'Pod',
      'Pod',
    ]);
    expect(lines.slice(5)).toEqual([']}', '']);
    expect(JSON.parse(kubernetesListJson({ collected: [], chunks: [] })).items).toEqual([]);

    // The same file from pages decoded on another thread (their lines as UTF-8 bytes), and its
    // pieces, written one after the other, are that file byte for byte.
    const encoded = { collected: [...file.collected], chunks: file.chunks.map((c) => bytes(c)) };
    expect(kubernetesListJson(encoded)).toBe(json);
    const pieces = kubernetesListParts(encoded).map((part) =>
      typeof part === 'string' ? bytes(part) : part,
    );
    expect(Buffer.concat(pieces).toString('utf8')).toBe(json);
    expect(pieces.some((piece) => piece.byteLength === bytes(pods.lines).byteLength)).toBe(true);
  });
});

describe('the worker-thread decoder', () => {
  const pool = createPageDecoderPool(2);
  afterAll(() => pool.close());

  it('decodes exactly as the main thread does, and takes the page body over instead of copying it', async () => {
    const body = bytes({ metadata: { continue: 'c' }, items: [POD, POD] });
    const expected = decodePage('Pod', body.slice());
    const decoded = await pool.decode('Pod', body);
    // The lines come back as UTF-8 bytes (transferred), the rest as it is.
    expect({ ...decoded, lines: text(decoded.lines) }).toEqual(expected);
    expect(decoded.lines).toBeInstanceOf(Uint8Array);
    expect(body.byteLength).toBe(0); // transferred to the worker
  });

  it('takes a resizable page buffer over too (as getPage reads pages), and decodes it alike', async () => {
    const page = { items: [POD, POD] };
    const body = resizableBytes(page);
    const decoded = await pool.decode('Pod', body);
    expect({ ...decoded, lines: text(decoded.lines) }).toEqual(decodePage('Pod', bytes(page)));
    expect(body.buffer.byteLength).toBe(0); // transferred to the worker
  });

  it('redacts credentials on the decode threads as on the main thread', async () => {
    const decoded = text((await pool.decode('Pod', bytes({ items: [CREDENTIAL_POD] }))).lines);
    expect(decoded).not.toMatch(/AKIAEXAMPLE|wJalrXUtnFEMI|FwoGZXIv/);
    expect(JSON.parse(decoded).spec.containers[0].env).toEqual(CREDENTIAL_ENV_TRIMMED);
  });

  it('takes written pages’ bytes back (detached here, freed on a decode thread) and keeps decoding', async () => {
    const first = await pool.decode('Pod', bytes({ items: [POD] }));
    const second = await pool.decode('Pod', bytes({ items: [POD, POD] }));
    const lines = [first.lines, second.lines, 'text lines stay', new Uint8Array(new ArrayBuffer(8), 2, 3)];
    expect((first.lines as Uint8Array).byteLength).toBeGreaterThan(0);
    pool.release?.(lines);
    // The bytes of whole buffers moved to a decode thread; text and views of part of a buffer stay.
    expect((first.lines as Uint8Array).byteLength).toBe(0);
    expect((second.lines as Uint8Array).byteLength).toBe(0);
    expect(lines[2]).toBe('text lines stay');
    expect((lines[3] as Uint8Array).byteLength).toBe(3);
    // Released twice (the same buffer again, now detached): nothing to send, nothing thrown.
    expect(() => pool.release?.(lines)).not.toThrow();
    expect((await pool.decode('Pod', bytes({ items: [POD] }))).count).toBe(1);
  });

  it('reports a malformed page from a worker the same way', async () => {
    expect((await pool.decode('Pod', bytes('nope'))).malformed).toMatch(/not JSON/);
    const wrong = { kind: 'PodList', metadata: {}, items: [POD, { spec: { containers: 'x' } }] };
    expect((await pool.decode('Pod', bytes(wrong))).malformed).toMatch(
      /^item 1 of the Pod list page is not shaped as a Pod/,
    );
  });

  it('closes cleanly right after written pages are handed back (as a collection ends)', async () => {
    // An answer that reached a destroyed pool was an 'error' event with no listener: thrown, it
    // killed the process (or the collection thread) in about half of these rounds.
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      for (let round = 0; round < 10; round++) {
        const fresh = createPageDecoderPool(2);
        const pages = await Promise.all(
          Array.from({ length: 8 }, () => fresh.decode('Pod', bytes({ items: [POD] }))),
        );
        fresh.release?.(pages.map((page) => page.lines));
        // And a page still decoding when the pool closes (a collection that stopped on an error).
        const pending = fresh.decode('Pod', bytes({ items: [POD, POD] }));
        await fresh.close();
        expect((await pending).count).toBe(2);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
  });

  it('decodes on the calling thread, and says so once, when the decode threads cannot start', async () => {
    // A broken install: the threads' module is missing. Piscina stops making threads, and a page
    // sent to it would wait for ever; an 'error' event with no listener would end the process.
    const problems: string[] = [];
    const broken = createPageDecoderPool(2, {
      workerUrl: new URL('./no-such-decode-worker.mjs', import.meta.url),
      onProblem: (message) => problems.push(message),
    });
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const pages = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          broken.decode('Pod', bytes({ items: [POD, POD].slice(0, 1 + (i % 2)) })),
        ),
      );
      expect(pages.map((page) => page.count)).toEqual([1, 2, 1, 2, 1, 2]);
      expect(text(pages[0]?.lines ?? '')).toBe(decodePage('Pod', bytes({ items: [POD] })).lines);
      expect((await broken.decode('Pod', bytes('nope'))).malformed).toMatch(/not JSON/);
      broken.release?.(pages.map((page) => page.lines));
      await broken.close();
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      process.off('uncaughtException', onUncaught);
    }
    expect(uncaught).toEqual([]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(
      /^the page decode threads could not start \(.*no-such-decode-worker\.mjs.*\): pages are decoded on the collection thread$/,
    );
  });

  it('decodes on the calling thread with 0 threads, and refuses a negative count', async () => {
    const inline = createPageDecoderPool(0);
    expect(inline.threads).toBe(0);
    expect((await inline.decode('Pod', bytes({ items: [POD] }))).count).toBe(1);
    expect(() => createPageDecoderPool(-1)).toThrow(/whole number/);
  });

  it.runIf(process.platform === 'linux')(
    'decodes at nice 10 by default (the collector’s own thread goes first), or at the nice value given',
    async () => {
      // The nice value of each thread of this process (field 19 of /proc/self/task/TID/stat).
      const niceValues = () =>
        readdirSync('/proc/self/task').map((tid) => {
          const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
          return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
        });
      const atTen = () => niceValues().filter((nice) => nice === 10).length;
      const before = atTen();
      const fresh = createPageDecoderPool(1);
      try {
        await fresh.decode('Pod', bytes({ items: [POD] })); // its thread has started, and decoded
        // The decode thread (and the loader thread it starts, which inherits its priority).
        expect(atTen()).toBeGreaterThan(before);
      } finally {
        await fresh.close();
      }
      const five = createPageDecoderPool(1, { nice: 5 });
      try {
        await five.decode('Pod', bytes({ items: [POD] }));
        expect(niceValues()).toContain(5);
        // This thread (the collector's) keeps its priority.
        expect(getPriority(0)).toBe(0);
      } finally {
        await five.close();
      }
      expect(() => createPageDecoderPool(1, { nice: 20 })).toThrow(/nice value/);
    },
  );

  it('uses a thread per core by default, none on one core, at most 4', () => {
    expect([1, 2, 8, 64].map((cores) => defaultDecodeThreads(cores))).toEqual([0, 2, 4, 4]);
  });
});
