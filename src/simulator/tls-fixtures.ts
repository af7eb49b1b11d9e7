// TLS material for HTTPS simulations: the committed test CA in a checkout, a throwaway CA made at start when installed.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import forge from 'node-forge';
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

export type TlsFile = 'ca.pem' | 'ca-key.pem' | 'server.pem' | 'server-key.pem' | 'other-ca.pem';

// Both src/simulator/ and dist/simulator/ sit two levels below the package root. The published
// package leaves test/ out (no private key ships), so there the material is made at start.
const FIXTURES = new URL('../../test/fixtures/', import.meta.url);

let cached: { tls: TestTls; dir: string } | undefined;

/** Absolute path of one file of the material, e.g. to hand the CA file to drainwatch's config. */
export function testTlsPath(file: TlsFile): string {
  return join(material().dir, file);
}

/**
 * The TLS material of the simulator (never use it outside tests and demos): the committed test
 * CA in a source checkout, so tests are repeatable; a CA made for this process otherwise.
 *
 * @example
 * const { key, cert, ca } = testTls();
 * const sim = await Simulator.start({ nodes: 3, tls: { key, cert } });
 * // verify with `ca`, servername 'node.sim.test' for non-127.0.0.1 addresses
 */
export function testTls(): TestTls {
  return material().tls;
}

/** True when the material was made at start (no committed fixtures beside the code). */
export function testTlsIsThrowaway(): boolean {
  return material().dir !== fileURLToPath(FIXTURES);
}

function material(): NonNullable<typeof cached> {
  if (cached) return cached;
  const fixtures = fileURLToPath(FIXTURES);
  if (existsSync(join(fixtures, 'server-key.pem'))) {
    try {
      const read = (file: TlsFile) => readFileSync(join(fixtures, file), 'utf8');
      cached = {
        dir: fixtures,
        tls: { key: read('server-key.pem'), cert: read('server.pem'), ca: read('ca.pem'), otherCa: read('other-ca.pem') },
      };
      return cached;
    } catch (error) {
      throw new SimulatorError('SIM_BAD_INPUT', `the test TLS material in ${fixtures} is incomplete; restore it from git`, { cause: error });
    }
  }
  const made = throwawayTls();
  const dir = mkdtempSync(join(tmpdir(), 'drainwatch-sim-tls-'));
  // The keys are worthless outside this process; still, leave nothing behind.
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const files: Record<TlsFile, string> = {
    'ca.pem': made.ca,
    'ca-key.pem': made.caKey,
    'server.pem': made.cert,
    'server-key.pem': made.key,
    'other-ca.pem': made.otherCa,
  };
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text, { mode: 0o600 });
  cached = { dir, tls: { key: made.key, cert: made.cert, ca: made.ca, otherCa: made.otherCa } };
  return cached;
}

const DAY_MS = 24 * 60 * 60 * 1000;

function rsaKeys(): { privateKey: forge.pki.rsa.PrivateKey; publicKey: forge.pki.rsa.PublicKey; pem: string } {
  // Node makes the key (native, fast); forge only builds and signs the certificates.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const forgeKey = forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey;
  return { privateKey: forgeKey, publicKey: forge.pki.setRsaPublicKey(forgeKey.n, forgeKey.e), pem };
}

function certificate(subject: string, publicKey: forge.pki.PublicKey, days: number): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  // Positive serial: the high bit cleared.
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + days * DAY_MS);
  cert.setSubject([{ name: 'commonName', value: subject }]);
  return cert;
}

function selfSignedCa(name: string): { cert: forge.pki.Certificate; key: ReturnType<typeof rsaKeys> } {
  const key = rsaKeys();
  const cert = certificate(name, key.publicKey, 30);
  cert.setIssuer(cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key.privateKey, forge.md.sha256.create());
  return { cert, key };
}

/**
 * A CA, a server certificate it signed (same SANs as the committed fixtures) and an unrelated
 * CA, all made now; nothing is written to disk.
 *
 * @example
 * const { key, cert, ca } = throwawayTls();
 */
export function throwawayTls(): TestTls & { caKey: string } {
  const ca = selfSignedCa(`drainwatch-sim throwaway CA ${new Date().toISOString()}`);
  const other = selfSignedCa('drainwatch-sim unrelated CA');
  const server = rsaKeys();
  const cert = certificate('node.sim.test', server.publicKey, 30);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        { type: 7, ip: '127.0.0.1' },
        { type: 7, ip: '::1' },
        { type: 2, value: 'localhost' },
        { type: 2, value: '*.sim.test' },
        { type: 2, value: 'node.sim.test' },
      ],
    },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(ca.key.privateKey, forge.md.sha256.create());
  return {
    key: server.pem,
    cert: forge.pki.certificateToPem(cert),
    ca: forge.pki.certificateToPem(ca.cert),
    caKey: ca.key.pem,
    otherCa: forge.pki.certificateToPem(other.cert),
  };
}
