// Table tests for the one home of addresses: listen addresses, stats sockets, host:port formatting and listenOn.

import { createServer } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { formatHost, formatHostPort, listenOn, parseListenAddress, parseRuntimeSocket } from '../../src/config/address.js';
import type { AddressInfo } from 'node:net';

describe('parseListenAddress', () => {
  it.each([
    ['127.0.0.1:5555', { host: '127.0.0.1', port: 5555 }],
    ['[::1]:9555', { host: '::1', port: 9555 }],
    [':9555', { host: '0.0.0.0', port: 9555 }],
    ['localhost:0', { host: 'localhost', port: 0 }],
    ['drainwatch.example:80', { host: 'drainwatch.example', port: 80 }],
  ])('reads %s', (text, expected) => {
    expect(parseListenAddress(text)).toEqual(expected);
  });

  it.each([
    ['nowhere', /is not a listen address of the form host:port/],
    ['127.0.0.1:99999', /port 99999 in "127.0.0.1:99999" is above 65535/],
    ['[nothex]:1', /is not a listen address/],
    ['[1.2.3.4]:1', /is not an IPv6 address/],
    ['bad_host!:1', /is neither an IP address nor a host name/],
  ])('rejects %s with a sentence', (text, message) => {
    expect(parseListenAddress(text)).toMatch(message);
  });
});

describe('parseRuntimeSocket', () => {
  it.each([
    ['/run/haproxy/admin.sock', { path: '/run/haproxy/admin.sock' }],
    ['unix@/tmp/a.sock', { path: '/tmp/a.sock' }],
    ['./admin.sock', { path: './admin.sock' }],
    ['127.0.0.1:9999', { host: '127.0.0.1', port: 9999 }],
    ['ipv4@127.0.0.1:9999', { host: '127.0.0.1', port: 9999 }],
    ['ipv6@[::1]:9999', { host: '::1', port: 9999 }],
    ['[::1]:9999', { host: '::1', port: 9999 }],
  ])('reads %s', (text, expected) => {
    expect(parseRuntimeSocket(text)).toEqual(expected);
  });

  it.each(['admin.sock', '127.0.0.1', '127.0.0.1:0', 'host:99999'])('rejects %s with the config sentence', (text) => {
    expect(parseRuntimeSocket(text)).toBe(`"${text}" is neither a unix socket path (starting with "/") nor host:port`);
  });
});

describe('formatHostPort', () => {
  it.each([
    ['an IPv4 address as it is', '10.0.1.11', 443, '10.0.1.11:443'],
    ['a host name as it is', 'px01.example.com', 8443, 'px01.example.com:8443'],
    ['an IPv6 address in brackets', 'fd00::11', 443, '[fd00::11]:443'],
    ['a scoped IPv6 address in brackets', 'fe80::1%eth0', 443, '[fe80::1%eth0]:443'],
    ['an already bracketed IPv6 address without doubling them', '[fd00::11]', 443, '[fd00::11]:443'],
  ])('writes %s', (_label, host, port, expected) => {
    expect(formatHostPort(host, port)).toBe(expected);
  });

  it.each([
    ['10.0.1.11', '10.0.1.11'],
    ['2001:db8::1', '[2001:db8::1]'],
    ['[2001:db8::1]', '[2001:db8::1]'],
  ])('brackets %s for a URL as %s', (host, expected) => {
    expect(formatHost(host)).toBe(expected);
  });
});

describe('listenOn', () => {
  it('resolves once the server listens on the address asked for', async () => {
    const server = createServer();
    onTestFinished(() => void server.close());
    await listenOn(server, { host: '127.0.0.1', port: 0 });
    expect(server.listening).toBe(true);
    expect((server.address() as AddressInfo).address).toBe('127.0.0.1');
  });

  it('rejects with the OS error when the port is taken, leaving no error listener behind', async () => {
    const first = createServer();
    onTestFinished(() => void first.close());
    await listenOn(first, { host: '127.0.0.1', port: 0 });
    const second = createServer();
    onTestFinished(() => void second.close());
    const port = (first.address() as AddressInfo).port;
    await expect(listenOn(second, { host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(second.listening).toBe(false);
    expect(second.listenerCount('error')).toBe(0);
  });
});
