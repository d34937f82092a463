/**
 * TLS material for the emulated Kubernetes API servers: one CA certificate per cluster (as EKS
 * issues one per cluster) and a server certificate for 127.0.0.1/localhost signed by it.
 *
 * Certificates are built with node-forge but signed with node's native RSA (forge's JavaScript
 * signature takes about 35 ms; 600 of them for a 300-cluster fleet would take 20 s). RSA key
 * generation costs about 150 ms a key, so keys come from a small per-process pool: every cluster
 * still has its own CA certificate with its own subject, so a client that trusts another
 * cluster's CA cannot build a chain to this cluster's server certificate and TLS fails.
 */
import { createPrivateKey, generateKeyPair, type KeyObject, randomBytes, sign } from 'node:crypto';
import { promisify } from 'node:util';
import forge from 'node-forge';

const generateKeyPairAsync = promisify(generateKeyPair);

/** How many distinct CA keys the process generates at most (they are reused round-robin). */
const CA_KEY_POOL_SIZE = 8;

interface RsaKey {
  readonly pem: string;
  readonly object: KeyObject;
  readonly forgePublicKey: forge.pki.rsa.PublicKey;
}

async function generateRsaKey(): Promise<RsaKey> {
  const { privateKey } = await generateKeyPairAsync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const object = createPrivateKey(privateKey);
  const forgePrivate = forge.pki.privateKeyFromPem(privateKey);
  return {
    pem: privateKey,
    object,
    forgePublicKey: forge.pki.setRsaPublicKey(forgePrivate.n, forgePrivate.e),
  };
}

const caKeyPool: Promise<RsaKey>[] = [];
let serverKey: Promise<RsaKey> | undefined;

function caKey(index: number): Promise<RsaKey> {
  const slot = index % CA_KEY_POOL_SIZE;
  while (caKeyPool.length <= slot) caKeyPool.push(generateRsaKey());
  return caKeyPool[slot] as Promise<RsaKey>;
}

function sharedServerKey(): Promise<RsaKey> {
  serverKey ??= generateRsaKey();
  return serverKey;
}

export interface ClusterTls {
  /** The cluster CA certificate (PEM): what kubeconfig's certificate-authority-data decodes to. */
  readonly caPem: string;
  /** The API server certificate (PEM), for IP 127.0.0.1 and DNS localhost. */
  readonly certPem: string;
  readonly keyPem: string;
}

/**
 * A positive serial number from random bytes, as hex (what forge takes). DER wants an INTEGER
 * minimally encoded, and forge strips one leading zero byte at most, so the first byte must be
 * 0x01 to 0x7f. Before, when the first byte (its top bit cleared) and the second were zero and
 * the third was below 0x80, 1 certificate in 65,536, forge wrote a padded integer that OpenSSL
 * refuses ("asn1 encoding routines::illegal padding"), and that cluster's server could not start.
 */
export function serialNumber(bytes: Buffer = randomBytes(16)): string {
  const serial = Buffer.from(bytes);
  serial[0] = (serial[0] ?? 0) & 0x7f || 0x01;
  return serial.toString('hex');
}

type Forge = typeof forge & { pki: { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 } };

/** Signs `cert` with SHA-256/RSA using node's native crypto, the way `cert.sign()` would. */
function signNatively(cert: forge.pki.Certificate, key: RsaKey): void {
  const oid = forge.pki.oids.sha256WithRSAEncryption as string;
  cert.signatureOid = oid;
  cert.siginfo.algorithmOid = oid;
  cert.tbsCertificate = (forge as Forge).pki.getTBSCertificate(cert);
  const der = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
  cert.signature = sign('sha256', der, key.object).toString('binary');
}

function validity(cert: forge.pki.Certificate, years: number): void {
  const now = Date.now();
  cert.validity.notBefore = new Date(now - 24 * 3600 * 1000);
  cert.validity.notAfter = new Date(now + years * 365 * 24 * 3600 * 1000);
}

/**
 * Creates the CA and server certificate of `count` clusters. `label(i)` goes into the CA subject
 * (OU) so that each CA is distinct and recognisable (e.g. `emulator 3`).
 */
export async function createClusterCertificates(
  count: number,
  label: (index: number) => string,
): Promise<ClusterTls[]> {
  const [leafKey, ...caKeys] = await Promise.all([
    sharedServerKey(),
    ...Array.from({ length: Math.min(count, CA_KEY_POOL_SIZE) }, (_, i) => caKey(i)),
  ]);
  if (!leafKey) throw new Error('no server key');
  const result: ClusterTls[] = [];
  for (let index = 0; index < count; index += 1) {
    const key = caKeys[index % caKeys.length] as RsaKey;
    const subject = [
      { name: 'commonName', value: 'kubernetes' },
      { shortName: 'OU', value: `${label(index)} ${randomBytes(4).toString('hex')}` },
    ];
    const ca = forge.pki.createCertificate();
    ca.publicKey = key.forgePublicKey;
    ca.serialNumber = serialNumber();
    validity(ca, 10);
    ca.setSubject(subject);
    ca.setIssuer(subject);
    ca.setExtensions([
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ]);
    signNatively(ca, key);

    const server = forge.pki.createCertificate();
    server.publicKey = leafKey.forgePublicKey;
    server.serialNumber = serialNumber();
    validity(server, 1);
    server.setSubject([{ name: 'commonName', value: 'kube-apiserver' }]);
    server.setIssuer(subject);
    server.setExtensions([
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 7, ip: '127.0.0.1' },
          { type: 2, value: 'localhost' },
          { type: 2, value: 'kubernetes' },
        ],
      },
    ]);
    signNatively(server, key);
    // forge writes CRLF line ends; EKS's PEM (and most tools') use LF.
    result.push({
      caPem: forge.pki.certificateToPem(ca).replace(/\r\n/g, '\n'),
      certPem: forge.pki.certificateToPem(server).replace(/\r\n/g, '\n'),
      keyPem: leafKey.pem,
    });
  }
  return result;
}
