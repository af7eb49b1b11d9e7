// Loopback address allocation for the fleet: one 127.X.Y.Z per node in "addresses" mode.

import { isIPv4 } from 'node:net';
import { badInput } from './errors.js';

/** `ports`: every node on 127.0.0.1 with its own port; `addresses`: every node on its own 127.X.Y.Z, one shared port. */
export type Addressing = 'ports' | 'addresses';

/** True for IPv4 addresses in 127.0.0.0/8 and for ::1: the only places the simulator binds. */
export function isLoopback(address: string): boolean {
  return address === '::1' || (isIPv4(address) && address.startsWith('127.'));
}

function toNumber(address: string): number {
  return address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function toAddress(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * Hands out consecutive 127.X.Y.Z addresses from a base, skipping last octets 0
 * and 255 (network/broadcast-looking addresses confuse people and some tools).
 */
export class LoopbackAllocator {
  #next: number;

  constructor(base: string) {
    if (!isIPv4(base) || !base.startsWith('127.')) {
      throw badInput(`the base address must be an IPv4 address in 127.0.0.0/8; got ${JSON.stringify(base)}.`);
    }
    this.#next = toNumber(base);
  }

  next(): string {
    for (;;) {
      const n = this.#next;
      if (n >>> 24 !== 127) throw badInput('ran out of 127.0.0.0/8 addresses.');
      this.#next += 1;
      const last = n & 255;
      if (last !== 0 && last !== 255) return toAddress(n);
    }
  }
}
