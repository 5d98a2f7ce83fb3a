// What the Node MeshSocket (src/mesh.ts) and the browser's (src/web/browser.ts) share
// as their public surface: the user API and the state views, each one call on the
// SocketCore the subclass made. What differs (listening, dialling, close()) stays in them.
import type { Packet, Router, RouterStats } from './actors/router.js';
import type { Message } from './protocol/user-message.js';
import type { SendOptions, SocketCore } from './socket-core.js';
import type { Connection } from './streams/connection.js';

/** The user API of a mesh socket over its SocketCore: send, whisper, recv, and the router's state. */
export abstract class MeshFacade {
  /** The router and the user API over it (src/socket-core.ts), made by the subclass. */
  protected abstract readonly core: SocketCore;

  /** The core's router, for specs and tools that look inside. */
  protected get router(): Router {
    return this.core.router;
  }

  /** The handshaken peers by node id (py2p's routing_table), read-only. */
  get routingTable(): ReadonlyMap<string, Connection> {
    return this.core.routingTable;
  }

  /** The handshaken peers, {id: connection} (py2p's name), read-only. */
  get routing_table(): ReadonlyMap<string, Connection> {
    return this.core.routingTable;
  }

  /** 'Nominal', or the recent errors (at most maxErrors) when there were any. */
  get status(): 'Nominal' | Error[] {
    return this.core.status;
  }

  /** Counters: frames, deliveries, duplicates dropped, errors by code. */
  get stats(): RouterStats {
    return this.core.stats;
  }

  /** True once close() has been called. */
  get closed(): boolean {
    return this.core.closed;
  }

  /**
   * Broadcasts one message, each argument a packet (string as UTF-8, or bytes). A last
   * argument `{ type }` overrides the subflag (default 'broadcast'), as py2p's `type=`;
   * a bad argument throws InvalidArgumentError. Returns false when some peer's send
   * buffer is above its high-water mark (wait for `drained()` before sending more if
   * you want backpressure).
   */
  send(...args: Array<Packet | SendOptions>): boolean {
    return this.core.send(args);
  }

  /**
   * Sends a whisper to node `id`: directly when connected, otherwise through py2p's
   * request/response route (a broadcast request, then a connection to the address the
   * response names). Rejects with RequestTimeoutError if no route turns up.
   */
  whisper(id: string, ...packets: Packet[]): Promise<void> {
    return this.core.whisper(id, packets);
  }

  /** message.reply(): a whisper to the message's original sender. */
  replyTo(msg: Message, packets: Packet[]): Promise<void> {
    return this.whisper(msg.sender, ...packets);
  }

  /**
   * Resolves when `quantity` messages are queued, with them, oldest first; on timeout
   * (or close) with what there is. recv() and recv(1) resolve to one message (or
   * undefined), as py2p's recv(); any other quantity to a list.
   */
  recv(): Promise<Message | undefined>;
  /** One message, or undefined once timeoutMs passes (or the socket closes). */
  recv(quantity: 1, timeoutMs?: number): Promise<Message | undefined>;
  /** `quantity` messages as a list, or what there is once timeoutMs passes (or the socket closes). */
  recv(quantity: number, timeoutMs?: number): Promise<Message[]>;
  recv(quantity = 1, timeoutMs?: number): Promise<Message | undefined | Message[]> {
    return this.core.recv(quantity, timeoutMs);
  }
}
