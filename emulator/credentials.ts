/**
 * The access keys the emulator knows: the management account's static key and the temporary keys
 * that sts:AssumeRole issued. A key maps to the account and principal it acts as, and its secret
 * lets the Kubernetes side verify EKS tokens signed with it.
 */
import { randomBytes } from 'node:crypto';

export interface IssuedCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Set for keys issued by AssumeRole: requests must carry it as X-Amz-Security-Token. */
  readonly sessionToken: string | undefined;
  readonly accountId: string;
  /** The principal ARN that GetCallerIdentity reports. */
  readonly arn: string;
  readonly userId: string;
  readonly expiration: Date | undefined;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** `length` random characters of the alphabet AWS uses in access key ids. */
export function randomId(length: number): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (byte) => BASE32[byte % 32]).join('');
}

export class CredentialStore {
  private readonly byKey = new Map<string, IssuedCredentials>();

  /** A long-term key of an IAM user in `accountId` (the auditor's own identity). */
  issueStatic(accountId: string, userName: string): IssuedCredentials {
    return this.add({
      accessKeyId: `AKIA${randomId(16)}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: undefined,
      accountId,
      arn: `arn:aws:iam::${accountId}:user/${userName}`,
      userId: `AIDA${randomId(17)}`,
      expiration: undefined,
    });
  }

  /** Temporary credentials of an assumed-role session. */
  issueSession(
    accountId: string,
    roleName: string,
    sessionName: string,
    durationSeconds: number,
  ): IssuedCredentials {
    return this.add({
      accessKeyId: `ASIA${randomId(16)}`,
      secretAccessKey: randomBytes(30).toString('base64'),
      sessionToken: `IQoJb3JpZ2luX2VtdWxhdG9y${randomBytes(96).toString('base64')}`,
      accountId,
      arn: `arn:aws:sts::${accountId}:assumed-role/${roleName}/${sessionName}`,
      userId: `AROA${randomId(17)}:${sessionName}`,
      expiration: new Date(Date.now() + durationSeconds * 1000),
    });
  }

  get(accessKeyId: string): IssuedCredentials | undefined {
    return this.byKey.get(accessKeyId);
  }

  private add(credentials: IssuedCredentials): IssuedCredentials {
    this.byKey.set(credentials.accessKeyId, credentials);
    return credentials;
  }
}
