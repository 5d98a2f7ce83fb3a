// The transport seam: the mesh above it never touches node:net or node:tls, a transport
// passed as an option carries every connection, and components see what the router does.
import { expect } from 'chai';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  InvalidArgumentError, MeshSocket, Protocol, TcpTransport, TlsTransport,
  type Listener, type RouterComponent, RouterState, type Transport, type TransportConnection,
} from '../../src/index.js';
import { Nodes, countDeliveries, link, waitFor } from '../helpers.js';

function sources(path: string): string[] {
  if (statSync(path).isFile()) return [path];
  return readdirSync(path).flatMap((name) => sources(join(path, name)));
}

/** A TCP transport that counts what goes through it. */
class CountingTransport implements Transport {
  readonly name = 'counting-tcp';
  readonly inner = new TcpTransport();
  listens = 0;
  dials: Array<[string, number]> = [];
  accepted = 0;
  bytesWritten = 0;

  async listen(host: string, port: number): Promise<Listener> {
    this.listens++;
    const l = await this.inner.listen(host, port);
    l.accepted$.subscribe(() => this.accepted++);
    return l;
  }

  dial(host: string, port: number): TransportConnection {
    this.dials.push([host, port]);
    const c = this.inner.dial(host, port);
    const write = c.write.bind(c);
    c.write = (chunk) => {
      this.bytesWritten += chunk.length;
      return write(chunk);
    };
    return c;
  }
}

describe('transport seam', function () {
  this.timeout(20_000);
  const nodes = new Nodes();
  afterEach(() => nodes.closeAll());

  it('keeps node:net and node:tls out of every module above it', () => {
    const above = ['src/actors', 'src/streams', 'src/protocol', 'src/mesh.ts'].flatMap(sources);
    expect(above.length).to.be.greaterThan(10);
    for (const file of above) {
      const text = readFileSync(file, 'utf8');
      expect(/['"](node:)?(net|tls)['"]/.test(text), `${file} names node:net or node:tls`).to.equal(false);
    }
  });

  it('carries every connection of a node over the transport option: its listener and its dials', async () => {
    const t = new CountingTransport();
    const a = await nodes.make({ transport: t });
    const b = await nodes.make({ transport: t });
    expect(a.transport).to.equal(t);
    expect(t.listens).to.equal(2);
    await link(a, b);
    expect(t.dials).to.deep.equal([['127.0.0.1', a.outAddr[1]]]);
    expect(t.accepted).to.equal(1);
    const got = a.recv(1, 5000);
    b.send('over the seam');
    expect((await got)?.packets[1]?.toString()).to.equal('over the seam');
    expect(t.bytesWritten).to.be.greaterThan(0);
  });

  it('picks TCP for Plaintext and TLS for SSL when no transport is given', async () => {
    const plain = await nodes.make();
    const ssl = await nodes.make({ protocol: new Protocol('mesh', 'SSL') });
    expect(plain.transport).to.be.instanceOf(TcpTransport);
    expect(ssl.transport).to.be.instanceOf(TlsTransport);
  });

  it('refuses a transport option without listen and dial', () => {
    expect(() => new MeshSocket('127.0.0.1', 0, { transport: {} as Transport })).to.throw(InvalidArgumentError);
  });

  it('calls component stages on handshake, admitted broadcasts, ticks and close', async () => {
    const seen: string[] = [];
    const component: RouterComponent = {
      name: 'recorder',
      start: (ctx) => {
        ctx.on.peerConnected.push((_s, conn) => void seen.push(`peer ${conn.outgoing ? 'out' : 'in'}`));
        ctx.on.admitted.push((_s, msg) => void seen.push(`admitted ${msg.payload[1]?.toString()}`));
        ctx.on.closed.push((_s, conn) => void seen.push(`closed ${conn.handshaken}`));
      },
      stop: () => undefined,
    };
    const a = await nodes.make();
    const b = await nodes.make();
    // RouterHost.extensions is how the socket hands them over; reach in and start one as the router would.
    const state = (a as unknown as { router: { state: RouterState } }).router.state;
    component.start({ state, on: state.stages, subflag: (name, handler) => state.registerSubflag(name, handler) });
    await link(a, b);
    b.send('hi');
    await waitFor(() => seen.includes('admitted hi'), 5000, 'admitted hook');
    await b.close();
    await waitFor(() => seen.includes('closed true'), 5000, 'closed hook');
    expect(seen).to.deep.equal(['peer in', 'admitted hi', 'closed true']);
  });

  it('runs the admitted stage after the delivery and before the relay (docs/persistence.md: no socket write between the user and the record)', async () => {
    const a = await nodes.make();
    const b = await nodes.make();
    const c = await nodes.make();
    const state = (a as unknown as { router: { state: RouterState } }).router.state;
    const at: Record<string, { delivered: number; framesOut: number }> = {};
    const mark = (where: string) => { at[where] ??= { delivered: state.stats.delivered, framesOut: state.stats.framesOut }; };
    state.stages.accept.push((_s, msg) => { if (msg.payload[1]?.toString() === 'ordered') mark('accept'); return true; });
    state.stages.admitted.push((_s, msg) => { if (msg.payload[1]?.toString() === 'ordered') mark('admitted'); });
    await link(a, b);
    await link(a, c);
    const gotC = countDeliveries(c);
    b.send('ordered');
    await waitFor(() => gotC.has('ordered'), 5000, 'c to get it through a');
    expect(at.admitted!.delivered, 'delivered before the admitted stage').to.equal(at.accept!.delivered + 1);
    expect(at.admitted!.framesOut, 'not yet relayed at the admitted stage').to.equal(at.accept!.framesOut);
    expect(state.stats.framesOut, 'relayed to c after it').to.be.above(at.admitted!.framesOut);
  });
});
