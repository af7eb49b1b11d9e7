// The simulator's TLS material: the throwaway CA made at start verifies its server certificate and nothing else.

import { once } from 'node:events';
import { createServer } from 'node:https';
import { connect } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { describe, expect, it, onTestFinished } from 'vitest';
import { testTlsIsThrowaway, throwawayTls } from '../../src/simulator/tls-fixtures.js';
import type { AddressInfo } from 'node:net';

async function handshake(ca: string, servername: string, port: number): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port, ca, servername });
  onTestFinished(() => {
    socket.destroy();
  });
  return new Promise((resolve) => {
    socket.once('secureConnect', () => resolve('verified'));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

// One set for the tests that only read it: making a set costs three RSA keys.
const shared = throwawayTls();

describe('throwawayTls', () => {
  it('makes a server certificate that its own CA verifies for 127.0.0.1 and *.sim.test, and the unrelated CA rejects', async () => {
    const tls = shared;
    const server = createServer({ key: tls.key, cert: tls.cert }, (_req, res) => res.end('ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const { port } = server.address() as AddressInfo;

    expect(await handshake(tls.ca, 'node.sim.test', port)).toBe('verified');
    expect(await handshake(tls.ca, 'px07.sim.test', port)).toBe('verified');
    expect(await handshake(tls.otherCa, 'node.sim.test', port)).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(await handshake(tls.ca, 'elsewhere.example', port)).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('marks the CA as a CA and the server certificate as issued by it, with 127.0.0.1 in its names', () => {
    const tls = shared;
    const ca = new X509Certificate(tls.ca);
    const leaf = new X509Certificate(tls.cert);
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('makes a new CA each time, so no two processes share a key', () => {
    expect(throwawayTls().caKey).not.toBe(shared.caKey);
  });

  it('is not used in a source checkout, where the committed fixtures keep tests repeatable', () => {
    expect(testTlsIsThrowaway()).toBe(false);
  });
});
