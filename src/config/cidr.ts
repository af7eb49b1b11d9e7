// Allow-lists for listeners: CIDRs as the config writes them, compiled once into a matcher checked at accept.

import { BlockList, isIP } from 'node:net';

/** One parsed CIDR (a bare address is a /32 or /128). */
export type Cidr = { address: string; prefix: number; family: 'ipv4' | 'ipv6' };

/**
 * Parses `10.0.0.0/8`, `fd00::/8` or a bare address; returns an error sentence instead of throwing.
 *
 * @example parseCidr('10.1.0.0/16') // { address: '10.1.0.0', prefix: 16, family: 'ipv4' }
 */
export function parseCidr(text: string): Cidr | string {
  const [address = '', prefixText, extra] = text.trim().split('/');
  const version = isIP(address);
  if (extra !== undefined || version === 0) {
    return `"${text}" is not a CIDR such as 10.0.0.0/8, 192.0.2.7 or fd00::/8`;
  }
  const max = version === 4 ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family: version === 4 ? 'ipv4' : 'ipv6' };
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) {
    return `"${text}": the prefix length after "/" must be a whole number from 0 to ${max}`;
  }
  return { address, prefix: Number(prefixText), family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * A peer address as allow-lists and per-peer caps see it: an IPv4 peer on a dual-stack listener
 * (`::ffff:a.b.c.d`) is the IPv4 address it is; a socket already gone is "".
 *
 * @example peerAddress('::ffff:127.0.0.9') // '127.0.0.9'
 */
export function peerAddress(remote: string | undefined): string {
  const address = remote ?? '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped?.[1] ?? address;
}

/** Answers whether a peer address may connect. */
export type AllowList = {
  /** True when the list is empty (anyone) or the address falls in one of its CIDRs. */
  allows(address: string | undefined): boolean;
  readonly empty: boolean;
};

/**
 * Compiles validated CIDR strings into a matcher. An IPv4 peer seen as `::ffff:a.b.c.d` (a
 * dual-stack listener) is matched as the IPv4 address it is; an unknown peer address (a socket
 * already gone) is refused by a non-empty list.
 *
 * @example compileAllowList(['127.0.0.1/32']).allows('::ffff:127.0.0.1') // true
 */
export function compileAllowList(cidrs: readonly string[]): AllowList {
  if (cidrs.length === 0) return { allows: () => true, empty: true };
  const list = new BlockList();
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (typeof cidr === 'string') throw new Error(cidr); // the schema has already rejected these
    list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return {
    empty: false,
    allows(address) {
      if (!address) return false;
      const plain = peerAddress(address);
      const version = isIP(plain);
      if (version === 0) return false;
      return list.check(plain, version === 4 ? 'ipv4' : 'ipv6');
    },
  };
}
