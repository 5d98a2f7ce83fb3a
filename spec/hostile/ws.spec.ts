// Hostile clients of the WebSocket listener (MeshOptions.webSocket), over real loopback
// sockets: oversized messages, text, clients that do not speak WebSocket, a bad origin
// where an allow-list is set, and a thousand idle WebSocket connections. Each is met by
// a typed, counted error, the node's memory stays bounded, and an honest peer is served.
import { expect } from 'chai';
import { WebSocket } from 'ws';
import { encodeLength, type MeshOptions, type MeshSocket } from '../../src/index.js';
import { link, waitFor } from '../helpers.js';
import { expectTypedErrors, hostileHarness } from './harness.js';
import { assertServes, errorCount, fakeId, frameOf, handshakePayload, RawPeer } from './raw-peer.js';

const fast: MeshOptions = { handshakeTimeoutMs: 800, frameTimeoutMs: 800, sweepIntervalMs: 25 };

describe('hostile WebSocket clients (real sockets)', function () {
  this.timeout(60_000);
  const { nodes, keep } = hostileHarness('hostile WebSocket suite');
  const clients: WebSocket[] = [];
  afterEach(async () => {
    for (const c of clients.splice(0)) c.terminate();
  });

  async function victim(ws: NonNullable<MeshOptions['webSocket']> = { port: 0 }, options: MeshOptions = {}): Promise<{ node: MeshSocket; honest: MeshSocket }> {
    const node = await nodes.make({ ...fast, ...options, webSocket: ws });
    const honest = await nodes.make();
    await link(node, honest);
    return { node, honest };
  }

  /** A WebSocket client; resolves once open, or with the status the node answered instead. */
  function client(node: MeshSocket, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; status?: number }> {
    const ws = new WebSocket(node.webSocketUrl!, { headers });
    clients.push(ws);
    ws.on('error', () => undefined);
    return new Promise((resolve) => {
      ws.once('open', () => resolve({ ws }));
      ws.once('unexpected-response', (_req, res) => resolve({ ws, status: res.statusCode }));
      ws.once('close', () => resolve({ ws }));
    });
  }

  const closedSoon = (ws: WebSocket) => waitFor(() => ws.readyState === WebSocket.CLOSED, 5_000, 'node to close the WebSocket');

  it('refuses a message over maxMessageBytes before buffering it (ERR_WS_MESSAGE_TOO_LARGE), and a 4 GiB frame header inside a small one', async () => {
    const { node, honest } = await victim({ port: 0, maxMessageBytes: 4096 });
    const { ws } = await client(node);
    ws.send(Buffer.alloc(64 * 1024, 1));
    await closedSoon(ws);
    await waitFor(() => errorCount(node, 'ERR_WS_MESSAGE_TOO_LARGE') === 1, 5_000, 'typed error');
    const second = (await client(node)).ws;
    second.send(encodeLength(0xffff_ffff));
    await closedSoon(second);
    await waitFor(() => Object.keys(node.stats.errors).some((c) => /FRAME|SIZE/.test(c)), 5_000, 'frame size error');
    await assertServes(node, honest);
    expectTypedErrors(node);
  });

  it('closes a WebSocket that sends text (ERR_WS_TEXT_MESSAGE); binary frames split over messages still work', async () => {
    const { node, honest } = await victim();
    const bad = (await client(node)).ws;
    bad.send('hello as text');
    await closedSoon(bad);
    expect(errorCount(node, 'ERR_WS_TEXT_MESSAGE')).to.equal(1);
    // A peer speaking the mesh protocol over WebSocket, one byte per message.
    const good = (await client(node)).ws;
    const id = fakeId();
    const frame = frameOf(node.protocol, 'whisper', id, handshakePayload(node, id));
    for (const byte of frame) good.send(Buffer.from([byte]));
    await waitFor(() => node.routingTable.has(id), 5_000, 'handshake byte by byte');
    expect(node.isWebSocketPeer(id)).to.equal(true);
    await assertServes(node, honest);
    expectTypedErrors(node);
  });

  it('answers clients that do not speak WebSocket with a typed error: TCP garbage, plain HTTP, a bad upgrade', async () => {
    const { node, honest } = await victim();
    const port = node.webSocketPort!;
    const garbage = await keep(RawPeer.connectPort(port, node.protocol));
    await garbage.write(Buffer.from('\x00\x01\x02 not http at all \xff\xfe\r\n\r\n', 'latin1'));
    await garbage.waitClosed();
    const http = await fetch(`http://127.0.0.1:${port}/`);
    expect(http.status).to.equal(426);
    const badUpgrade = await keep(RawPeer.connectPort(port, node.protocol));
    await badUpgrade.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n'));
    await badUpgrade.waitClosed();
    await waitFor(() => errorCount(node, 'ERR_NOT_WEBSOCKET') === 3, 5_000, 'three ERR_NOT_WEBSOCKET');
    await assertServes(node, honest);
    expectTypedErrors(node);
  });

  it('refuses an origin outside webSocketOrigins with 403 (ERR_WS_ORIGIN) and a foreign Host (ERR_WS_HOST); a client with no Origin is not a browser', async () => {
    const allowed = 'http://127.0.0.1:8080';
    const { node, honest } = await victim({ port: 0, origins: [allowed] });
    expect((await client(node, { origin: 'http://evil.example' })).status).to.equal(403);
    expect((await client(node, { origin: 'http://attacker.example', host: 'attacker.example' })).status).to.equal(403);
    expect(errorCount(node, 'ERR_WS_ORIGIN')).to.equal(1);
    expect(errorCount(node, 'ERR_WS_HOST')).to.equal(1);
    const noOrigin = await client(node);
    expect(noOrigin.status).to.equal(undefined);
    const ok = await client(node, { origin: allowed });
    expect(ok.status).to.equal(undefined);
    expect(ok.ws.readyState).to.equal(WebSocket.OPEN);
    await assertServes(node, honest);
    expectTypedErrors(node);
  });

  it('holds at most maxAwaiting of 1,000 idle WebSocket connections, evicts or refuses the rest (typed), and times out the held ones', async () => {
    const maxAwaiting = 32;
    const { node, honest } = await victim({ port: 0 }, { maxAwaiting });
    const heapBefore = process.memoryUsage().heapUsed;
    let awaitingPeak = 0;
    const sampler = setInterval(() => { awaitingPeak = Math.max(awaitingPeak, node.awaiting_ids.filter((c) => !c.closed).length); }, 2);
    try {
      const opened = await Promise.all(Array.from({ length: 1000 }, () => client(node)));
      const open = opened.filter((c) => c.ws.readyState === WebSocket.OPEN).length;
      const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
      // Every one of them ends typed: refused at the limit, or dropped when its handshake
      // timeout passes (a slot freed that way takes a later one in).
      const ended = () => errorCount(node, 'ERR_CONNECTION_LIMIT') + errorCount(node, 'ERR_HALF_OPEN_EVICTED') + errorCount(node, 'ERR_HANDSHAKE_TIMEOUT');
      // The last held ones are let go at their handshake timeout, which can come after the
      // count reached 1,000 (a refusal and a timeout can both be recorded for one socket).
      await waitFor(() => ended() >= 1000 && node.awaiting_ids.length === 0, 20_000, 'all 1,000 refused or timed out');
      console.log(`      1,000 idle WebSockets: ${open} open at once after the burst, at most ${awaitingPeak} awaiting a handshake (max ${maxAwaiting}), ${errorCount(node, 'ERR_HALF_OPEN_EVICTED')} evicted, ${errorCount(node, 'ERR_CONNECTION_LIMIT')} refused, ${errorCount(node, 'ERR_HANDSHAKE_TIMEOUT')} timed out, heap +${heapMb.toFixed(1)} MB`);
    } finally {
      clearInterval(sampler);
    }
    expect(awaitingPeak).to.be.at.most(maxAwaiting);
    expect(node.awaiting_ids.length).to.equal(0);
    await assertServes(node, honest);
    expectTypedErrors(node);
  });

  it('counts TCP connections still in their HTTP phase against maxAwaiting: 300 silent ones, at most maxAwaiting held, each ended typed', async () => {
    const maxAwaiting = 16;
    const { node, honest } = await victim({ port: 0, upgradeTimeoutMs: 500 }, { maxAwaiting });
    const silent = await Promise.all(Array.from({ length: 300 }, () => keep(RawPeer.connectPort(node.webSocketPort!, node.protocol))));
    const ended = () => errorCount(node, 'ERR_CONNECTION_LIMIT') + errorCount(node, 'ERR_HALF_OPEN_EVICTED') + errorCount(node, 'ERR_HANDSHAKE_TIMEOUT');
    await waitFor(() => ended() === 300, 10_000, 'all 300 refused or timed out');
    await waitFor(() => silent.every((r) => r.closed), 5_000, 'all closed');
    expect(errorCount(node, 'ERR_HALF_OPEN_EVICTED')).to.be.at.least(300 - maxAwaiting);
    await assertServes(node, honest);
    expectTypedErrors(node);
  });
});
