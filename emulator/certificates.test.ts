import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import fc from 'fast-check';
import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import { createClusterCertificates, serialNumber } from './certificates.ts';

// A small key is enough: the serial is what is under test, and OpenSSL parses it whatever the key.
const { privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 1024,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const forgeKey = forge.pki.privateKeyFromPem(privateKey);

/** A certificate with `serial`, as forge encodes it, read back by node's OpenSSL. */
function parsedSerial(serial: string): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e);
  cert.serialNumber = serial;
  cert.validity.notBefore = new Date(0);
  cert.validity.notAfter = new Date(86_400_000);
  cert.setSubject([{ name: 'commonName', value: 'serial' }]);
  cert.setIssuer([{ name: 'commonName', value: 'serial' }]);
  cert.sign(forgeKey, forge.md.sha256.create());
  return new X509Certificate(forge.pki.certificateToPem(cert)).serialNumber.toLowerCase();
}

describe('the emulator certificates serial number', () => {
  it('is refused by OpenSSL when forge is given two leading zero bytes (the failure it guards against)', () => {
    expect(() => parsedSerial('0000112233')).toThrow(/illegal padding/);
  });

  it('makes a certificate OpenSSL reads back, whatever the random bytes, zero first bytes included', () => {
    const zeroes = Buffer.alloc(16);
    const highZero = Buffer.from([0x80, 0x00, 0x12, ...Buffer.alloc(13)]);
    for (const bytes of [zeroes, highZero]) {
      const serial = serialNumber(bytes);
      expect(parsedSerial(serial)).toBe(serial);
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
        const serial = serialNumber(Buffer.from(bytes));
        expect(serial).toHaveLength(32);
        expect(parsedSerial(serial)).toBe(serial);
      }),
      { numRuns: 60 },
    );
  });

  it('does not change the bytes it is given', () => {
    const bytes = Buffer.from([0x80, 0x00, 0x00, 0x01]);
    serialNumber(bytes);
    expect(bytes.toString('hex')).toBe('80000001');
  });

  it('gives each cluster a CA and a server certificate that chain, with distinct serials', async () => {
    const [first, second] = await createClusterCertificates(2, (index) => `test ${index}`);
    if (!first || !second) throw new Error('two clusters were asked for');
    const ca = new X509Certificate(first.caPem);
    const server = new X509Certificate(first.certPem);
    expect(server.checkIssued(ca)).toBe(true);
    expect(server.verify(ca.publicKey)).toBe(true);
    expect(server.checkIssued(new X509Certificate(second.caPem))).toBe(false);
    expect(
      new Set([ca.serialNumber, server.serialNumber, new X509Certificate(second.caPem).serialNumber]).size,
    ).toBe(3);
  });
});
