// Hostile peers against an SSL node, over real TLS and TCP sockets: what never
// becomes TLS (silence, plain frames, HTTP, garbage) and what attacks from inside a
// TLS session. As in peers.spec.ts, the node also serves an honest SSL peer, and
// every attack is met with a typed, counted error.
import { deflateSync } from 'node:zlib';
import { expect } from 'chai';
import fc from 'fast-check';
import { encodeLength, Protocol, type MeshOptions, type MeshSocket } from '../../src/index.js';
import { link, waitFor } from '../helpers.js';
import { expectTypedErrors, hostileHarness } from './harness.js';
import { assertServes, errorCount, frameOf, handshakePayload, RawPeer } from './raw-peer.js';

const ssl = new Protocol('mesh', 'SSL');
const fast: MeshOptions = { protocol: ssl, handshakeTimeoutMs: 500, frameTimeoutMs: 500, sweepIntervalMs: 25 };

describe('hostile peers against an SSL node (real TLS sockets)', function () {
  this.timeout(20_000);
  const { nodes, keep, watch } = hostileHarness('hostile SSL suite');

  async function victim(options: MeshOptions = {}): Promise<{ node: MeshSocket; honest: MeshSocket }> {
    const node = await nodes.make({ ...fast, ...options });
    const honest = await nodes.make({ protocol: ssl });
    await link(node, honest);
    // From here to the end of the test: event-loop delay and the honest peer's deliveries.
    watch(node, honest);
    return { node, honest };
  }

  const tcp = (node: MeshSocket): Promise<RawPeer> => keep(RawPeer.connect(node));
  const tlsPeer = (node: MeshSocket): Promise<RawPeer> => keep(RawPeer.connectTls(node));

  it('refuses what is not TLS (plain py2p frames, HTTP, random bytes) with TlsError, counted', async function () {
    const { node, honest } = await victim();
    const blobs = [
      frameOf(ssl, 'whisper', 'Plain1', handshakePayload(node, 'Plain1')),
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      ...fc.sample(fc.uint8Array({ minLength: 8, maxLength: 2048 }), { numRuns: 12, seed: 20261125 }),
    ];
    const peers = await Promise.all(blobs.map(async (b) => {
      const r = await tcp(node);
      await r.write(b);
      return r;
    }));
    await assertServes(node, honest);
    await waitFor(() => peers.every((p) => p.closed), 5_000, 'every non-TLS connection closed');
    // Each one ends in TlsError, or (for bytes TLS waits on for more) the handshake timeout.
    expect(errorCount(node, 'ERR_TLS') + errorCount(node, 'ERR_HANDSHAKE_TIMEOUT')).to.equal(blobs.length);
    expect(errorCount(node, 'ERR_TLS')).to.be.at.least(2);
    expect(node.stats.delivered).to.equal(0);
    expectTypedErrors(node);
    await assertServes(node, honest);
  });

  it('holds at most maxAwaiting connections still in their TLS handshake (each newcomer evicting the oldest), and times the silent ones out', async function () {
    const { node, honest } = await victim({ maxAwaiting: 4 });
    const silent: RawPeer[] = [];
    for (let i = 0; i < 20; i++) silent.push(await tcp(node));
    await waitFor(() => silent.filter((p) => p.closed).length >= 16, 5_000, 'the oldest connections past maxAwaiting evicted');
    expect(node.stats.connectionsRefused).to.equal(0);
    expect(silent.slice(0, 16).every((p) => p.closed)).to.equal(true);
    await assertServes(node, honest);
    await waitFor(() => silent.every((p) => p.closed), 5_000, 'silent TLS handshakes timed out');
    expect(errorCount(node, 'ERR_HALF_OPEN_EVICTED')).to.equal(16);
    expect(errorCount(node, 'ERR_HANDSHAKE_TIMEOUT')).to.equal(4);
    // The slots are free again: a real peer joins.
    const late = await nodes.make({ protocol: ssl });
    await link(node, late);
    await assertServes(node, late);
    expectTypedErrors(node);
  });

  it('closes TLS sessions that send garbage, a 4 GiB size header, a zlib bomb or no handshake', async function () {
    // Made before the victim is watched: deflating 16 MiB holds this process's loop too.
    const bomb = deflateSync(Buffer.alloc(16 * 1024 * 1024));
    const { node, honest } = await victim({ maxDecompressedBytes: 1024 * 1024 });
    const garbage = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 4096 }), { numRuns: 10, seed: 20261126 });
    const peers = await Promise.all(garbage.map(async (b) => {
      const r = await tlsPeer(node);
      await r.write(b);
      return r;
    }));
    const huge = await tlsPeer(node);
    await huge.handshake();
    await huge.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    const bomber = await tlsPeer(node);
    await bomber.handshake('["gzip"]');
    await bomber.write(Buffer.concat([encodeLength(bomb.length), bomb]));
    const mute = await tlsPeer(node);
    await assertServes(node, honest);
    await waitFor(() => [...peers, huge, bomber, mute].every((p) => p.closed), 5_000, 'every hostile TLS session closed');
    expect(errorCount(node, 'ERR_FRAME_TOO_LARGE')).to.be.at.least(1);
    expect(errorCount(node, 'ERR_DECOMPRESSED_TOO_LARGE')).to.equal(1);
    expect(errorCount(node, 'ERR_HANDSHAKE_TIMEOUT')).to.be.at.least(1);
    expect(node.stats.delivered).to.equal(0);
    expectTypedErrors(node);
    await assertServes(node, honest);
  });
});
