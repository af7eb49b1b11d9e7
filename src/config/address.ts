// Addresses in one place: listen addresses and stats sockets as the config writes them, host:port as load balancers read it.

import { isIP } from 'node:net';
import type { Server } from 'node:net';

export type ListenAddress = { host: string; port: number };

/** A listen address as the validated config holds it: parsed once, plus the text as written (for logs). */
export type ConfiguredListen = ListenAddress & { readonly text: string };

/** Where an HAProxy stats socket lives: a unix socket path, or host:port for `stats socket ipv4@...`. */
export type RuntimeSocket = { path: string } | { host: string; port: number };

/** A stats socket as the validated config holds it: parsed once, plus the text as written. */
export type ConfiguredSocket = RuntimeSocket & { readonly text: string };

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

/**
 * Reads `haproxy.runtime_api[].socket`: "/run/haproxy/admin.sock", "unix@/path", a relative
 * path starting with ".", "127.0.0.1:9999", "ipv4@127.0.0.1:9999" or "[::1]:9999"; an error
 * sentence otherwise (a TCP socket needs a real port: HAProxy's CLI never listens on 0).
 *
 * @example parseRuntimeSocket('ipv4@127.0.0.1:9999') // { host: '127.0.0.1', port: 9999 }
 */
export function parseRuntimeSocket(text: string): RuntimeSocket | string {
  const trimmed = text.trim();
  if (trimmed.startsWith('unix@')) return { path: trimmed.slice('unix@'.length) };
  if (trimmed.startsWith('/') || trimmed.startsWith('.')) return { path: trimmed };
  const address = parseListenAddress(trimmed.replace(/^ipv[46]@/, ''));
  if (typeof address === 'string' || address.port === 0) {
    return `"${text}" is neither a unix socket path (starting with "/") nor host:port`;
  }
  return address;
}

/**
 * Checks a node address (where load balancers send traffic and, by default, where the prober
 * goes): an IPv4 or IPv6 literal, or an RFC 1123 host name — no port, path, userinfo, brackets
 * or spaces, and no dotted numbers that are not an IPv4 address (`999.1.1.1`, `1.2.3.4.5`).
 * Returns an error sentence, or null when the address is usable.
 *
 * @example checkNodeAddress('1.2.3.4:99') // '"1.2.3.4:99" is not an IP address or host name (no port, path or user part: the port goes in port)'
 */
export function checkNodeAddress(text: string): string | null {
  if (isIP(text) !== 0) return null;
  const bad = `"${text}" is not an IP address or host name (no port, path or user part: the port goes in port)`;
  if (text.length === 0 || text.length > 253) return bad;
  const labels = text.split('.');
  if (!labels.every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label))) return bad;
  // An all-numeric last label is never a host name: a mistyped IPv4 address.
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return `"${text}" is not a valid IPv4 address`;
  return null;
}

/**
 * A host as it goes in front of `:port` or into a URL: an IPv6 address in brackets (anything
 * with a ":" is one, since host names and IPv4 never contain it), an already bracketed one as it is.
 *
 * @example formatHost('fd00::11') // '[fd00::11]'
 */
export function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * `host:port` with an IPv6 host in brackets, as HAProxy, NGINX and URLs read it.
 *
 * @example formatHostPort('fd00::11', 443) // '[fd00::11]:443'
 */
export function formatHostPort(host: string, port: number): string {
  return `${formatHost(host)}:${port}`;
}

/**
 * Binds `server` (a net, http or https server) and resolves once it listens; rejects with the
 * OS error (EADDRINUSE, EACCES) instead of leaving it as an unhandled "error" event.
 *
 * @example await listenOn(createServer(handler), { host: '127.0.0.1', port: 0 });
 */
export function listenOn(server: Server, address: ListenAddress & { backlog?: number }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    const { host, port, backlog } = address;
    server.listen(backlog === undefined ? { host, port } : { host, port, backlog }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
