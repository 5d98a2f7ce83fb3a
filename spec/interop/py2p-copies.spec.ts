// py2p 0.2 relays a broadcast as a waterfall dated when it relays it (a new id), seconds
// late when it is busy: rx2p drops a py2p peer's relay that matches a message it has, and
// the original that arrives after such a relay (py2pCopyWindowSeconds).
import { expect } from 'chai';
import { Deframer, PathfindingMessage, Protocol, RX2P_CAPABILITY, pyJsonDumps, type MeshOptions } from '../../src/index.js';
import { Nodes, countDeliveries, waitFor } from '../helpers.js';
import { RawPeer, fakeId, frameOf } from '../hostile/raw-peer.js';

const protocol = new Protocol('mesh', 'Plaintext');
const utc = () => Math.floor(Date.now() / 1000);

describe('py2p re-timed relays (py2pCopyWindowSeconds)', function () {
  const nodes = new Nodes();
  const peers: RawPeer[] = [];
  afterEach(async () => {
    for (const p of peers.splice(0)) p.destroy();
    await nodes.closeAll();
  });

  /** A node, a py2p peer and an rx2p peer (by the capability in their handshakes), both raw. */
  async function setup(options: MeshOptions = {}) {
    // catchUpSeconds: messages dated up to 60 s back are wanted (a new node's horizon is its start).
    const node = await nodes.make({ catchUpSeconds: 60, ...options });
    const got = countDeliveries(node);
    const py2p = await RawPeer.connect(node);
    const rx2p = await RawPeer.connect(node);
    peers.push(py2p, rx2p);
    await py2p.handshake(pyJsonDumps(['gzip', 'bz2', 'lzma']));
    await rx2p.handshake(pyJsonDumps(['gzip', RX2P_CAPABILITY]));
    const sender = fakeId();
    const frame = (type: string, text: string, time: number) => frameOf(protocol, type, sender, ['broadcast', text], [], time);
    /** Writes `frame`s in order, then a marker, and waits for the marker (all before it were handled). */
    let marks = 0;
    const through = async (peer: RawPeer, ...frames: Buffer[]) => {
      const mark = `mark-${++marks}`;
      for (const f of frames) await peer.write(f);
      await peer.write(frame('broadcast', mark, utc()));
      await waitFor(() => got.has(mark), 5_000, 'the marker');
    };
    return { node, got, py2p, rx2p, frame, through };
  }

  it('delivers once a broadcast a py2p peer relays 25 s after the original, and once one whose original comes after the relay', async () => {
    const { got, py2p, rx2p, frame, through } = await setup();
    const t = utc();
    await through(rx2p, frame('waterfall', 'first', t - 25));
    await through(py2p, frame('waterfall', 'first', t));
    await through(py2p, frame('waterfall', 'second', t));
    await through(rx2p, frame('waterfall', 'second', t - 20), frame('broadcast', 'second', t - 20));
    expect([got.get('first'), got.get('second')]).to.deep.equal([1, 1]);
  });

  it('drops a py2p peer\'s broadcast dated a second after the same broadcast from another way (py2p dates each peer\'s copy anew)', async () => {
    const { got, py2p, rx2p, frame, through } = await setup();
    const t = utc();
    await through(rx2p, frame('waterfall', 'one', t - 1));
    await through(py2p, frame('broadcast', 'one', t));
    expect(got.get('one')).to.equal(1);
  });

  it('still delivers, from an rx2p peer, the same payload dated 25 s later (a repeat, not a py2p copy)', async () => {
    const { got, rx2p, frame, through } = await setup();
    const t = utc();
    await through(rx2p, frame('waterfall', 'again', t - 25), frame('waterfall', 'again', t));
    expect(got.get('again')).to.equal(2);
  });

  it('with py2pCopyWindowSeconds 0, delivers py2p\'s late relay a second time (what the window prevents)', async () => {
    const { got, py2p, rx2p, frame, through } = await setup({ py2pCopyWindowSeconds: 0 });
    const t = utc();
    await through(rx2p, frame('waterfall', 'late', t - 25));
    await through(py2p, frame('waterfall', 'late', t));
    expect(got.get('late')).to.equal(2);
  });

  it('relays no waterfall to a py2p peer by default; with py2pRelayMaxAgeSeconds 50, one 10 s old and not one 55 s old (py2p 0.2 takes one 60 s old as new and floods it)', async () => {
    {
      const { py2p, rx2p, frame, through } = await setup();
      await through(rx2p, frame('waterfall', 'relayed?', utc()));
      await through(py2p, frame('broadcast', 'from py2p', utc()));
      expect(new Deframer({ maxFrameBytes: 1 << 20 }).push(Buffer.concat(py2p.received)).filter((f) => f.includes('waterfall'))).to.deep.equal([]);
    }
    const { py2p, rx2p, frame, through } = await setup({ py2pRelayMaxAgeSeconds: 50 });
    const t = utc();
    await through(rx2p, frame('waterfall', 'young', t - 10), frame('waterfall', 'old', t - 55), frame('waterfall', 'after', t));
    await waitFor(() => texts().includes('after'), 5_000, 'the last one at the py2p peer');
    expect(texts()).to.include('young');
    expect(texts()).to.not.include('old');
    function texts(): string[] {
      const frames = new Deframer({ maxFrameBytes: 1 << 20 }).push(Buffer.concat(py2p.received));
      return frames.map((f) => {
        const len = Buffer.alloc(4);
        len.writeUInt32BE(f.length);
        return PathfindingMessage.feedString(protocol, Buffer.concat([len, f]), false, ['gzip']).packets.map((x) => x.toString())[5] ?? '';
      });
    }
  });
});
