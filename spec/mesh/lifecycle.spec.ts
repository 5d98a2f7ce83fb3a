import { expect } from 'chai';
import * as net from 'node:net';
import sinon from 'sinon';
import { spawn } from 'node:child_process';
import { deflateSync } from 'node:zlib';
import { MeshSocket, PathfindingMessage, SocketClosedError, encodeFrame, pyJsonDumps } from '../../src/index.js';
import { Nodes, link, waitFor } from '../helpers.js';
import { RawPeer } from './raw-peer.js';

describe('mesh socket lifecycle', function () {
  this.timeout(30_000);
  const nodes = new Nodes();
  afterEach(() => nodes.closeAll());

  it('close() completes both streams, settles pending calls and refuses later use', async () => {
    const a = await nodes.make();
    const b = await nodes.make();
    const c = await nodes.make();
    await link(a, b);
    await link(b, c);
    let completed = 0;
    for (const n of [a, b, c]) {
      n.messages$.subscribe({ complete: () => completed++ });
      n.events$.subscribe({ complete: () => completed++ });
    }
    const pending = c.recv(5); // never satisfied: settles on close
    a.send('x');
    await waitFor(() => c.queue.length === 1, 5000, 'delivery');
    await nodes.closeAll();
    expect(completed).to.equal(6);
    expect((await pending).length).to.equal(1);
    expect(a.routing_table.size).to.equal(0);
    expect(() => a.send('late')).to.throw(SocketClosedError);
    const err = await a.connect('127.0.0.1', b.outAddr[1]).catch((e: Error) => e);
    expect(err).to.be.instanceOf(SocketClosedError);
  });

  it('turns TCP keepalive on for every connection, both ends, with keepAliveMs as its idle time (0: off)', async () => {
    const spy = sinon.spy(net.Socket.prototype, 'setKeepAlive');
    try {
      const a = await nodes.make({ keepAliveMs: 15_000 });
      const b = await nodes.make({ keepAliveMs: 15_000 });
      await link(a, b);
      const sockets = [...a.routingTable.values(), ...b.routingTable.values()].map((c) => c.socket);
      expect(sockets).to.have.length(2);
      for (const socket of sockets) expect(spy.calledOn(socket) && spy.calledWith(true, 15_000), 'keepalive on').to.equal(true);
      spy.resetHistory();
      const c = await nodes.make({ keepAliveMs: 0 });
      const d = await nodes.make({ keepAliveMs: 0 });
      await link(c, d);
      expect(spy.called).to.equal(false);
    } finally {
      spy.restore();
    }
  });

  it('leaves nothing behind: a process that closed its nodes exits by itself', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'spec/mesh/scripts/close-and-exit.ts'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { out += d; });
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(null); }, 20_000);
      child.on('exit', (c) => { clearTimeout(timer); resolve(c); });
    });
    expect(code, out).to.equal(0);
    expect(out).to.match(/Plaintext closed with \d message/).and.to.match(/SSL closed with \d message/);
  });

  it('rejects a listen on a port in use through ready, without leaking', async () => {
    const a = await nodes.make();
    const clash = new MeshSocket('127.0.0.1', a.outAddr[1]);
    const err = await clash.ready.catch((e: Error) => e);
    expect((err as NodeJS.ErrnoException).code).to.equal('EADDRINUSE');
    await clash.close();
  });

  it('stays connected when a py2p peer renegotiates with both frames still compressed', async () => {
    const a = await nodes.make();
    const b = await nodes.make();
    await link(a, b);
    a.send('first');
    await b.recv(1, 5000);
    // A hand-driven py2p-like peer: advertises gzip, then gets renegotiation wrong.
    const peer = await RawPeer.connect(a.outAddr[1]);
    const pid = 'PyPeer1';
    await peer.next();
    peer.send(new PathfindingMessage(a.protocol, 'whisper', pid, ['handshake', pid, a.protocol.id, pyJsonDumps(['127.0.0.1', 1]), pyJsonDumps(['gzip', 'bz2', 'lzma'])], []).string);
    await peer.next(); // peers list
    await waitFor(() => a.routing_table.has(pid), 5000, 'py2p peer handshaken');
    a.send('to everyone');
    await peer.next();
    const gz = (payload: string[]) => {
      const body = new PathfindingMessage(a.protocol, 'renegotiate', pid, payload, []).string.subarray(4);
      return encodeFrame(deflateSync(body));
    };
    peer.send(gz(['compression', '[]']));
    peer.send(gz(['resend']));
    const answers: string[][] = [];
    for (let i = 0; i < 2; i++) {
      const body = await peer.next();
      expect(body.readUInt32BE(0), 'answers go out plain').to.be.lessThan(100);
      answers.push(PathfindingMessage.feedString(a.protocol, encodeFrame(body)).payload.map((p) => p.toString()));
    }
    expect(answers).to.deep.include(['compression', '[]']);
    expect(answers).to.deep.include(['broadcast', 'to everyone']);
    expect(a.routing_table.has(pid)).to.equal(true);
    a.send('after');
    expect((await b.recv(2, 5000)).map((m) => m.packets[1]!.toString())).to.deep.equal(['to everyone', 'after']);
    expect(a.status).to.equal('Nominal');
  });
});

describe('mesh socket disconnect', function () {
  this.timeout(20_000);
  const nodes = new Nodes();
  afterEach(() => nodes.closeAll());

  it('disconnect(id) closes one peer, both ends forget it, the others stay', async () => {
    const a = await nodes.make({ maxOutgoing: 0 });
    const b = await nodes.make({ maxOutgoing: 0 });
    const c = await nodes.make({ maxOutgoing: 0 });
    await link(a, b);
    await link(a, c);
    const gone: string[] = [];
    b.events$.subscribe((e) => { if (e.type === 'peer-disconnected') gone.push(e.id); });
    expect(await a.disconnect(b.id)).to.equal(true);
    expect(a.routing_table.has(b.id)).to.equal(false);
    await waitFor(() => gone.includes(a.id), 5000, 'b told of the disconnect');
    expect(await a.disconnect('no-such-peer')).to.equal(false);
    a.send('still here');
    expect((await c.recv(1, 5000))!.packets[1]!.toString()).to.equal('still here');
  });
});
