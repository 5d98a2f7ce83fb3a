// Node nodes over the WebSocket transport: handshake, broadcast, whisper, peers lists,
// and the rx2p-web advertisement of WebSocket URLs.
import { expect } from 'chai';
import type { Message } from '../../src/index.js';
import { Nodes, link, waitFor } from '../helpers.js';
import { py2pPeersList } from './py2p-peer.js';

describe('WebSocket transport between Node nodes', function () {
  this.timeout(15_000);
  const nodes = new Nodes();
  afterEach(() => nodes.closeAll());

  const wsNode = () => nodes.make({ webSocket: { port: 0 } });

  it('a node dials another over ws://: broadcast and whisper cross the link, once each', async () => {
    const a = await wsNode();
    const b = await nodes.make();
    expect(a.webSocketUrl).to.match(/^ws:\/\/127\.0\.0\.1:\d+$/);
    expect(await b.connectWebSocket(a.webSocketUrl!)).to.equal(true);
    await waitFor(() => a.routing_table.has(b.id) && b.routing_table.has(a.id), 5000, 'ws handshake');
    expect(a.isWebSocketPeer(b.id)).to.equal(true);
    const gotA: Message[] = [];
    const gotB: Message[] = [];
    a.messages$.subscribe((m) => gotA.push(m));
    b.messages$.subscribe((m) => gotB.push(m));
    b.send('over websocket', Buffer.alloc(100_000, 7));
    a.send('back');
    await b.whisper(a.id, 'psst');
    await waitFor(() => gotA.length === 2 && gotB.length === 1, 5000, 'messages');
    expect(gotA.map((m) => m.text(1))).to.deep.equal(['over websocket', 'psst']);
    expect(gotA[0]!.packets[2]!.length).to.equal(100_000);
    expect(gotB[0]!.text(1)).to.equal('back');
    expect(a.stats.errors).to.deep.equal({});
  });

  it('a peer that came over WebSocket is never named in a peers list', async () => {
    const a = await wsNode();
    const viaWs = await nodes.make();
    const viaTcp = await nodes.make();
    await viaWs.connectWebSocket(a.webSocketUrl!);
    await link(a, viaTcp);
    await waitFor(() => a.routing_table.size === 2, 5000, 'both peers');
    const ids = await py2pPeersList(a);
    expect(ids).to.include(viaTcp.id);
    expect(ids).to.not.include(viaWs.id);
  });

  it('WebSocket URLs are advertised to rx2p peers (rx2p-web), not delivered to the user', async () => {
    const a = await wsNode();
    const b = await wsNode();
    const c = await nodes.make();
    await link(a, b);
    const got: Message[] = [];
    c.messages$.subscribe((m) => got.push(m));
    await c.connectWebSocket(a.webSocketUrl!);
    await waitFor(() => c.directory.urls().some(([url]) => url === b.webSocketUrl), 5000, 'b advertised to c');
    const views = c.topology;
    expect(views.find((v) => v.id === a.id)?.peers).to.include(b.id);
    expect(got).to.deep.equal([]);
    expect(a.stats.delivered + b.stats.delivered + c.stats.delivered).to.equal(0);
  });

  it('closes cleanly with WebSocket peers connected', async () => {
    const a = await wsNode();
    const b = await nodes.make();
    await b.connectWebSocket(a.webSocketUrl!);
    await waitFor(() => a.routing_table.size === 1, 5000, 'ws handshake');
    await a.close();
    await waitFor(() => b.routing_table.size === 0, 5000, 'b sees a gone');
  });
});
