// Parses "host:port" listen addresses ("127.0.0.1:5555", "[::1]:9555", ":9555").

import { isIP } from 'node:net';

export type ListenAddress = { host: string; port: number };

/**
 * Parses a listen address; returns an error sentence instead of throwing.
 *
 * @example parseListenAddress('[::1]:9555') // { host: '::1', port: 9555 }
 */
export function parseListenAddress(text: string): ListenAddress | string {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  if (!match) return `"${text}" is not a listen address of the form host:port (for example 127.0.0.1:9555 or [::1]:9555)`;
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (port > 65535) return `port ${port} in "${text}" is above 65535`;
  if (match[1] !== undefined && isIP(host) !== 6) return `"${host}" in "${text}" is not an IPv6 address`;
  if (host !== '' && host !== 'localhost' && isIP(host) === 0 && !/^[A-Za-z0-9.-]+$/.test(host)) {
    return `"${host}" in "${text}" is neither an IP address nor a host name`;
  }
  return { host: host === '' ? '0.0.0.0' : host, port };
}

