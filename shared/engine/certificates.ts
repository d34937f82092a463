/**
 * PEM certificate bundles as Kubernetes and EKS store them (base64 of PEM text): decoding and
 * comparison, for the webhook's caBundle against the cluster CA (IRSA-004).
 */
import { X509Certificate } from 'node:crypto';
import { pemCertificateBlocks } from '../model/text.ts';

export interface CertificateSummary {
  readonly subject: string;
  readonly fingerprint256: string;
  readonly validTo: string;
  readonly raw: Buffer;
}

export type BundleDecoding =
  | { readonly ok: true; readonly certificates: readonly CertificateSummary[] }
  | { readonly ok: false; readonly problem: 'empty' | 'not-pem'; readonly detail: string };

/** Decodes a base64 PEM bundle (`caBundle`, `certificateAuthority.data`) into its certificates. */
export function decodeCertificateBundle(base64Pem: string | null | undefined): BundleDecoding {
  if (!base64Pem || base64Pem.trim() === '')
    return { ok: false, problem: 'empty', detail: 'the bundle is empty' };
  const text = Buffer.from(base64Pem.trim(), 'base64').toString('utf8');
  const blocks = pemCertificateBlocks(text);
  if (blocks.length === 0) {
    return { ok: false, problem: 'not-pem', detail: 'the bundle holds no PEM "BEGIN CERTIFICATE" block' };
  }
  const certificates: CertificateSummary[] = [];
  for (const block of blocks) {
    try {
      const cert = new X509Certificate(block);
      certificates.push({
        subject: cert.subject.replace(/\n/g, ', '),
        fingerprint256: cert.fingerprint256,
        validTo: new Date(cert.validTo).toISOString(),
        raw: cert.raw,
      });
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return {
        ok: false,
        problem: 'not-pem',
        detail: `a PEM block is not a valid X.509 certificate (${detail})`,
      };
    }
  }
  return { ok: true, certificates };
}

export function isExpired(certificate: CertificateSummary, now: Date): boolean {
  return new Date(certificate.validTo).getTime() <= now.getTime();
}

export function sameCertificate(a: CertificateSummary, b: CertificateSummary): boolean {
  return a.raw.equals(b.raw);
}
