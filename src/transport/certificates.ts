// ssl_wrapper.py equivalents. py2p's "SSL" encryption is transport encryption with
// self-signed certificates and no peer verification: it hides traffic from passive
// observers, it does not authenticate peers (see docs/hardening.md).
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as tls from 'node:tls';
import type Forge from 'node-forge';

// node-forge is loaded on first use: only a node that makes a certificate needs it,
// and loading it costs a process about 10 MB of RSS (a Plaintext node never does).
let forgeModule: typeof Forge | undefined;
function loadForge(): typeof Forge {
  return (forgeModule ??= createRequire(import.meta.url)('node-forge') as typeof Forge);
}

/** A certificate and its private key, both PEM. */
export interface CertificatePair {
  /** PEM certificate */
  cert: string;
  /** PEM private key (PKCS#8) */
  key: string;
}

/**
 * Makes a self-signed certificate: RSA 2048, SHA-256, valid for ten years.
 * The key pair comes from node:crypto (native, ~100x faster than a pure-JS RSA
 * key search); node-forge builds and signs the X.509 certificate.
 */
export function generateSelfSignedCert(commonName = 'rx2p'): CertificatePair {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const forge = loadForge();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey);
  cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
  const now = new Date();
  cert.validity.notBefore = new Date(now.getTime() - 24 * 3600 * 1000);
  cert.validity.notAfter = new Date(now.getTime() + 10 * 365 * 24 * 3600 * 1000);
  const attrs = [{ name: 'commonName', value: commonName }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.sign(forge.pki.privateKeyFromPem(privateKey) as Forge.pki.rsa.PrivateKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: privateKey };
}

/** py2p's generate_self_signed_cert(cert_file, key_file): writes the PEM files. */
export function generate_self_signed_cert(certFile: string, keyFile: string): CertificatePair {
  const pair = generateSelfSignedCert();
  writeFileSync(certFile, pair.cert);
  writeFileSync(keyFile, pair.key, { mode: 0o600 });
  return pair;
}

// node:tls too is loaded on first use (an SSL node's server or first dial): it costs a
// process about 1.6 MB of RSS, which a Plaintext node does not need to pay.
let tlsModule: typeof tls | undefined;
/** node:tls, loaded on first use. */
export function nodeTls(): typeof tls {
  return (tlsModule ??= createRequire(import.meta.url)('node:tls') as typeof tls);
}

let processCert: CertificatePair | undefined;
/** One certificate per process, made on first use (py2p makes one per server socket). */
export function sharedCertificate(): CertificatePair {
  processCert ??= generateSelfSignedCert();
  return processCert;
}

/**
 * py2p's get_socket(server_side): the TLS options for one side of a connection.
 * A client accepts any certificate, as py2p does (encryption without authentication).
 */
export function get_socket(serverSide: boolean, pair?: CertificatePair): tls.TlsOptions & tls.ConnectionOptions {
  if (serverSide) pair ??= sharedCertificate();
  return pair
    ? { cert: pair.cert, key: pair.key, minVersion: 'TLSv1.2' }
    : { rejectUnauthorized: false, minVersion: 'TLSv1.2' };
}
/** The TLS options of one side of a connection (py2p's ssl_wrapper.get_socket, under rx2p's name). */
export const getSocketOptions = get_socket;
