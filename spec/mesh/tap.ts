import * as net from 'node:net';
import { Deframer } from '../../src/index.js';

/**
 * A TCP relay between a dialling node and a listening one, recording the bytes of
 * each direction and able to slip bytes into either: the test's view of the wire.
 */
export class Tap {
  readonly toServer: Buffer[] = [];
  readonly toClient: Buffer[] = [];
  private readonly pairs: Array<[net.Socket, net.Socket]> = [];
  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(targetPort: number): Promise<Tap> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const tap = new Tap(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => {
      const upstream = net.connect(targetPort, '127.0.0.1');
      tap.pairs.push([client, upstream]);
      client.on('data', (d) => { tap.toServer.push(d); upstream.write(d); });
      upstream.on('data', (d) => { tap.toClient.push(d); client.write(d); });
      const end = () => { client.destroy(); upstream.destroy(); };
      client.on('close', end); upstream.on('close', end);
      client.on('error', end); upstream.on('error', end);
    });
    return tap;
  }

  /** Frame bodies seen so far in one direction. */
  frames(direction: 'toServer' | 'toClient'): Buffer[] {
    const d = new Deframer({ maxFrameBytes: 1 << 26 });
    return this[direction].flatMap((chunk) => d.push(chunk));
  }

  inject(direction: 'toServer' | 'toClient', bytes: Uint8Array): void {
    const [client, upstream] = this.pairs[0]!;
    (direction === 'toServer' ? upstream : client).write(bytes);
  }

  async close(): Promise<void> {
    for (const [a, b] of this.pairs) { a.destroy(); b.destroy(); }
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
