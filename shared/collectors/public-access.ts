/** An EKS cluster's public access CIDRs against the addresses a collector's traffic leaves from. */
import { BlockList, isIP } from 'node:net';

/**
 * Whether public access CIDRs admit none of the addresses. No CIDRs (EKS's default, 0.0.0.0/0) or
 * no known address: they are not excluded. Used by the collector
 * (collect-fleet.ts) and the pipeline's routing (routing.ts).
 */
export function cidrsExcludeAll(cidrs: readonly string[], addresses: readonly string[]): boolean {
  if (cidrs.length === 0 || addresses.length === 0) return false;
  const family = (ip: string) => (isIP(ip) === 6 ? 'ipv6' : 'ipv4');
  const admitted = new BlockList();
  for (const cidr of cidrs) {
    const [network = '', prefix = ''] = cidr.split('/');
    if (isIP(network) && /^\d+$/.test(prefix)) admitted.addSubnet(network, Number(prefix), family(network));
  }
  return !addresses.some((address) => isIP(address) !== 0 && admitted.check(address, family(address)));
}
