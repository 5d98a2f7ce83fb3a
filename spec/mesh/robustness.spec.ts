import { expect } from 'chai';
import { PathfindingMessage, pyJsonDumps } from '../../src/index.js';
import { Nodes, link, waitFor } from '../helpers.js';
import { RawPeer } from './raw-peer.js';

describe('router robustness', function () {
  this.timeout(20_000);
  const nodes = new Nodes();
  afterEach(() => nodes.closeAll());

  async function handshaken(port: number, protocolId: string, pid: string) {
    const peer = await RawPeer.connect(port);
    await peer.next();
    peer.send(new PathfindingMessage({ id: protocolId } as never, 'whisper', pid, ['handshake', pid, protocolId, pyJsonDumps(['127.0.0.1', 1]), '[]'], []).string);
    await peer.next();
    return peer;
  }

  it('drops broadcasts dated too far in the future, as it drops expired ones', async () => {
    const a = await nodes.make();
    const b = await nodes.make();
    await link(a, b);
    const peer = await handshaken(a.outAddr[1], a.protocol.id, 'Future1');
    const now = Math.floor(Date.now() / 1000);
    peer.send(new PathfindingMessage(a.protocol, 'broadcast', 'Future1', ['broadcast', 'from the future'], [], now + 3600).string);
    peer.send(new PathfindingMessage(a.protocol, 'broadcast', 'Future1', ['broadcast', 'from the past'], [], now - 3600).string);
    peer.send(new PathfindingMessage(a.protocol, 'broadcast', 'Future1', ['broadcast', 'from now'], [], now).string);
    const m = (await a.recv(1, 5000))!;
    expect(m.packets[1]!.toString()).to.equal('from now');
    expect(a.stats.expired).to.equal(2);
    expect((await b.recv(1, 5000))!.packets[1]!.toString()).to.equal('from now');
    peer.close();
  });

  it('turns an internal throw into a recorded InternalError that costs one connection at most', async () => {
    const a = await nodes.make({ maxOutgoing: 0 });
    const b = await nodes.make({ maxOutgoing: 0 });
    const c = await nodes.make({ maxOutgoing: 0 });
    await link(b, a);
    await link(b, c);
    // Make b's handling of one frame throw (its clock is read while flooding).
    const clock = b.options.clock;
    let armed = true;
    (b.options as { clock: () => number }).clock = () => {
      if (armed) { armed = false; throw new Error('boom'); }
      return clock();
    };
    a.send('lost in the throw');
    await waitFor(() => b.stats.errors.ERR_INTERNAL === 1, 5000, 'internal error recorded');
    await waitFor(() => !b.routing_table.has(a.id), 5000, 'a dropped');
    c.send('still served');
    expect((await b.recv(1, 5000))!.packets[1]!.toString()).to.equal('still served');
    expect(b.routing_table.has(c.id)).to.equal(true);
  });
});
