// Re-dialling lost peers (reconnectIntervalMs, maxReconnectAttempts), on loopback.
import * as net from 'node:net';
import { expect } from 'chai';
import { MeshSocket } from '../../src/index.js';
import { link, Nodes, waitFor } from '../helpers.js';

describe('re-dialling a lost peer', function () {
  this.timeout(20_000);
  const nodes = new Nodes();
  const servers: net.Server[] = [];
  afterEach(async () => {
    await nodes.closeAll();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  const fast = { sweepIntervalMs: 20, reconnectIntervalMs: 100 };

  it('dials a peer it had dialled again when that peer comes back on the same address', async function () {
    const a = await nodes.make(fast);
    const b = await nodes.make({ userSalt: 'b' });
    await link(b, a); // a dials b
    const port = b.outAddr[1];
    await b.close();
    await waitFor(() => a.routingTable.size === 0, 5_000, 'a notices');
    // Back on the old port (nodes.make would bind a new one) with the same salt: the same id.
    const back = new MeshSocket('127.0.0.1', port, { userSalt: 'b' });
    await back.ready;
    try {
      await waitFor(() => a.routingTable.has(back.id) && back.routingTable.has(a.id), 5_000, 'redial');
      expect(back.id).to.equal(b.id);
    } finally {
      await back.close();
    }
  });

  it('backs off, doubling the wait, and gives up after maxReconnectAttempts', async function () {
    const a = await nodes.make({ ...fast, maxReconnectAttempts: 3 });
    const b = await nodes.make();
    await link(b, a);
    const port = b.outAddr[1];
    await b.close();
    // The address now answers TCP but never handshakes: every redial fails fast.
    const attempts: number[] = [];
    const trap = net.createServer((s) => { attempts.push(Date.now()); s.destroy(); });
    servers.push(trap);
    await new Promise<void>((r) => trap.listen(port, '127.0.0.1', () => r()));
    await waitFor(() => attempts.length >= 3, 5_000, 'three redials');
    const gaps = [attempts[1]! - attempts[0]!, attempts[2]! - attempts[1]!];
    // 200 ms then 400 ms (the sweep runs every 20 ms).
    expect(gaps[0]).to.be.within(150, 400);
    expect(gaps[1]).to.be.within(350, 700);
    // A fourth would come 800 ms after the third: none comes.
    const quietUntil = attempts[2]! + 1_200;
    await waitFor(() => Date.now() >= quietUntil, 2_000, 'the quiet period');
    expect(attempts.length).to.equal(3);
  });

  it('does not re-dial a peer it disconnected on purpose, nor one that had dialled it', async function () {
    const a = await nodes.make(fast);
    const b = await nodes.make(fast);
    const c = await nodes.make(fast);
    await link(b, a); // a dialled b
    await link(a, c); // c dialled a
    expect(await a.disconnect(b.id)).to.equal(true);
    await waitFor(() => !a.routingTable.has(b.id) && !b.routingTable.has(a.id), 5_000, 'a drops b');
    await c.close();
    await waitFor(() => a.routingTable.size === 0, 5_000, 'c gone');
    // Several redial periods pass: a dials neither b (disconnected on purpose) nor c (not dialled by a).
    const until = Date.now() + 600;
    await waitFor(() => Date.now() >= until, 2_000, 'several redial periods');
    expect(a.routingTable.size).to.equal(0);
    expect(b.routingTable.size).to.equal(0);
  });

  it('does not re-dial when reconnectIntervalMs is 0', async function () {
    const a = await nodes.make({ ...fast, reconnectIntervalMs: 0 });
    const b = await nodes.make({ userSalt: 'b0' });
    await link(b, a);
    const port = b.outAddr[1];
    await b.close();
    await waitFor(() => a.routingTable.size === 0, 5_000, 'a notices');
    const back = new MeshSocket('127.0.0.1', port, { userSalt: 'b0' });
    await back.ready;
    try {
      const until = Date.now() + 600;
      await waitFor(() => Date.now() >= until, 2_000, 'several redial periods');
      expect(a.routingTable.size).to.equal(0);
    } finally {
      await back.close();
    }
  });
});
