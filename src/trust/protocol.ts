import type { Protocol } from '../protocol/protocol.js';

/**
 * The encryption value of the authenticated protocol: TLS 1.3, Ed25519 node keys, a
 * handshake proof bound to the TLS session, signed broadcasts. It enters the
 * protocol id like 'Plaintext' and 'SSL', so py2p nodes and rx2p nodes of the other
 * two protocols are refused by the handshake's protocol-id check.
 */
export const AUTH_ENCRYPTION = 'Ed25519';

/** True for the authenticated protocol (encryption 'Ed25519'). */
export function isAuthenticated(protocol: Protocol): boolean {
  return protocol.encryption === AUTH_ENCRYPTION;
}

/** Whether connections of this protocol run over TLS (py2p's 'SSL', and the authenticated protocol). */
export function usesTls(protocol: Protocol): boolean {
  return protocol.encryption === 'SSL' || protocol.encryption === AUTH_ENCRYPTION;
}
