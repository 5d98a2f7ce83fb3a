import { expect } from 'chai';
import { PathfindingMessage, Protocol, pyJsonDumps } from '../../src/index.js';
import { Nodes, link, waitFor } from '../helpers.js';
import { RawPeer } from './raw-peer.js';

describe('router robustness', function () {
  this.timeout(20_000);
  const nodes = new Nodes();
  afterEach(() => nodes.closeAll());

  async function handshaken(port: number, protocolId: string, pid: string) {
    const peer = await RawPeer.connect(port);
    await peer.next();
    peer.send(new PathfindingMessage(new Protocol('mesh', 'Plaintext'), 'whisper', pid, ['handshake', pid, protocolId, pyJsonDumps(['127.0.0.1', 1]), '[]'], []).string);
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

  it("drops a copy of its own broadcast flooded back to it, and lists its own broadcast's id in waterfalls", async () => {
    const a = await nodes.make({ compression: [] });
    const peer = await handshaken(a.outAddr[1], a.protocol.id, 'Echo1');
    a.send('mine');
    let sent = PathfindingMessage.feedString(a.protocol, await peer.next(), true);
    while (sent.payload[1]?.toString() !== 'mine') sent = PathfindingMessage.feedString(a.protocol, await peer.next(), true);
    expect(sent.msgType).to.equal('broadcast');
    expect(a.waterfalls.map(([id]) => id)).to.include(sent.id);
    // The copy comes back as a waterfall; a forgery in a's name with a new payload too.
    peer.send(sent.relay('waterfall', null));
    peer.send(new PathfindingMessage(a.protocol, 'broadcast', a.id, ['broadcast', 'forged'], [], Math.floor(Date.now() / 1000)).string);
    peer.send(new PathfindingMessage(a.protocol, 'broadcast', 'Echo1', ['broadcast', 'after'], [], Math.floor(Date.now() / 1000)).string);
    expect((await a.recv(1, 5000))!.packets[1]!.toString()).to.equal('after');
    expect(a.stats.duplicates).to.equal(2);
    expect(a.stats.delivered).to.equal(1);
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
