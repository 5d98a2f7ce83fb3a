import { createPublicKey, verify } from 'node:crypto';

// Kept for a reader checking the premise of attack 3 (attacks.spec.ts): under OpenSSL's verification
// alone, the universal key verifies any message (not asserted: it depends on OpenSSL).
export function openSslAcceptsUniversalKey(): boolean {
  const raw = Buffer.alloc(32);
  raw[0] = 1;
  const key = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), raw]), format: 'der', type: 'spki' });
  const sig = Buffer.alloc(64);
  sig[0] = 1;
  try {
    return verify(null, Buffer.from('anything'), key, sig);
  } catch {
    return false;
  }
}
