// Loads the committed test CA and server certificate (test/fixtures) for HTTPS simulations.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SimulatorError } from './errors.js';

export type TestTls = {
  /** PEM private key of the server certificate. */
  key: string;
  /** PEM server certificate (SANs 127.0.0.1, ::1, localhost, *.sim.test, node.sim.test). */
  cert: string;
  /** PEM test CA that signed `cert`. */
  ca: string;
  /** PEM of an unrelated self-signed CA, for verification-failure tests. */
  otherCa: string;
};

// Both src/simulator/ and dist/simulator/ sit two levels below the package root.
const FIXTURES = new URL('../../test/fixtures/', import.meta.url);

let cached: TestTls | undefined;

/** Absolute path of one fixture file, e.g. to hand a CA file to drainwatch's config. */
export function testTlsPath(file: 'ca.pem' | 'ca-key.pem' | 'server.pem' | 'server-key.pem' | 'other-ca.pem'): string {
  return fileURLToPath(new URL(file, FIXTURES));
}

/**
 * Reads the throwaway test TLS material (never use it outside tests and demos).
 *
 * @example
 * const { key, cert, ca } = testTls();
 * const sim = await Simulator.start({ nodes: 3, tls: { key, cert } });
 * // verify with `ca`, servername 'node.sim.test' for non-127.0.0.1 addresses
 */
export function testTls(): TestTls {
  try {
    cached ??= {
      key: readFileSync(testTlsPath('server-key.pem'), 'utf8'),
      cert: readFileSync(testTlsPath('server.pem'), 'utf8'),
      ca: readFileSync(testTlsPath('ca.pem'), 'utf8'),
      otherCa: readFileSync(testTlsPath('other-ca.pem'), 'utf8'),
    };
  } catch (error) {
    // The fixtures live in the source tree, not in the published package.
    throw new SimulatorError(
      'SIM_BAD_INPUT',
      `the test TLS material is missing (${fileURLToPath(FIXTURES)}); run from a source checkout or pass { key, cert }.`,
      { cause: error },
    );
  }
  return cached;
}
