import { describe, expect, it } from 'vitest';
import { AwsClients } from './aws-clients.ts';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

describe('AwsClients.releaseRegionalClients', () => {
  it('closes and forgets the regional clients, keeps IAM and STS, and makes new ones on demand', async () => {
    const clients = new AwsClients(credentials);
    const eks = clients.eks('eu-west-1');
    const account = clients.account('eu-west-1');
    const ec2 = await clients.ec2('eu-west-1');
    const iam = clients.iam;
    const sts = clients.sts;
    const closed: string[] = [];
    for (const [name, client] of [
      ['eks', eks],
      ['account', account],
      ['ec2', ec2],
      ['iam', iam],
      ['sts', sts],
    ] as const) {
      const destroy = client.destroy.bind(client);
      client.destroy = () => {
        closed.push(name);
        destroy();
      };
    }
    clients.releaseRegionalClients();
    await new Promise((resolve) => setImmediate(resolve)); // the EC2 client is closed once loaded
    expect(closed.sort()).toEqual(['account', 'ec2', 'eks']);
    // Asked again, a region gets a new client; IAM and STS are the same ones.
    expect(clients.eks('eu-west-1')).not.toBe(eks);
    expect(clients.account('eu-west-1')).not.toBe(account);
    expect(await clients.ec2('eu-west-1')).not.toBe(ec2);
    expect(clients.iam).toBe(iam);
    expect(clients.sts).toBe(sts);
    clients.destroy();
  });
});
