// Which peers are rx2p nodes. An rx2p node names RX2P_CAPABILITY in its handshake's
// compression list, after its methods; py2p 0.2 keeps only the methods it knows from
// that list, so the name costs a py2p peer nothing. What rx2p adds to py2p's protocol
// (asking a peer for its peers list, the rx2p-web directory) goes only to peers that
// named it: py2p 0.2 reads a two-packet `request *` as three and raises, answers a
// well-formed one by broadcasting its routing table to the whole mesh, and floods a
// whisper with a subflag it does not know as a waterfall (docs/py2p-interop.md).
import { flags } from '../protocol/flags.js';
import { REPAIR_CAPABILITY } from '../protocol/repair-wire.js';
import type { Connection } from '../streams/connection.js';
import type { RouterState } from './state.js';

/** Named by every rx2p node: it answers `whisper request *` with a whisper of its peers list, and reads rx2p-web whispers. */
export const RX2P_CAPABILITY = 'rx2p/1';

/**
 * True for a peer that named RX2P_CAPABILITY, or the repair capability (rx2p nodes
 * from before RX2P_CAPABILITY, which answer `request *` alike), in its handshake.
 * A renegotiation that drops the names makes the peer count as py2p: the safe side.
 */
export function isRx2pPeer(conn: Connection): boolean {
  const c = conn.compression;
  return c.includes(RX2P_CAPABILITY) || c.includes(REPAIR_CAPABILITY);
}

/**
 * A write that tells whether a connection is still alive (one that is dead meets a reset)
 * and that the peer answers without side effects. An rx2p peer gets `whisper request *`
 * (answered with its peers list, to this node only). A py2p 0.2 peer gets
 * `renegotiate compression` with the list it already holds from this node: it changes
 * nothing and py2p answers only a list that changed (mesh_connection.found_terminator).
 */
export function probe(s: RouterState, conn: Connection): void {
  if (isRx2pPeer(conn)) s.sendTo(conn, flags.whisper, [flags.request, '*']);
  else s.sendTo(conn, flags.renegotiate, [flags.compression, conn.toldCompression ?? s.handshakeMethods]);
}
