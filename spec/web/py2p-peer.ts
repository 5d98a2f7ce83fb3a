// A py2p-like peer for the web specs: what a py2p 0.2 node is told when it joins.
import { expect } from 'chai';
import { PathfindingMessage, encodeFrame, pyJsonDumps, type MeshSocket } from '../../src/index.js';
import { RawPeer } from '../mesh/raw-peer.js';

/**
 * The ids in the peers list a py2p-like peer (plain TCP, no compression) is sent when it
 * joins `node`; it must never be sent an rx2p-web whisper either.
 */
export async function py2pPeersList(node: MeshSocket): Promise<string[]> {
  const raw = await RawPeer.connect(node.address!.port);
  try {
    const pid = 'RawPy2pPeer';
    raw.send(new PathfindingMessage(node.protocol, 'whisper', pid, ['handshake', pid, node.protocol.id, pyJsonDumps(['127.0.0.1', 1]), '[]'], []).string);
    for (;;) {
      const msg = PathfindingMessage.feedString(node.protocol, encodeFrame(await raw.next()));
      expect(msg.payload[0]?.toString()).to.not.equal('rx2p-web');
      if (msg.payload[0]?.toString() === 'peers') return (JSON.parse(msg.payload[1]!.toString()) as Array<[unknown, string]>).map((e) => e[1]);
    }
  } finally {
    raw.close();
  }
}
