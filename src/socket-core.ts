// The part of a MeshSocket that does not depend on where it runs, shared by the Node
// MeshSocket (src/mesh.ts: TCP/TLS listeners, WebSocket listener, data dir) and the
// browser one (src/web/browser.ts: WebSocket dials only). It owns the Router and the
// user-facing plumbing over it: argument checks, send/whisper/recv, messages$ and
// events$, the recv() queue, the recent errors, and the close sequence. Each facade
// keeps its public methods (and their doc comments) and hands the work to this core.
// Nothing here may import a Node-only module: the browser bundle includes this file.
import { Subject, type Observable } from 'rxjs';
import { Router, type MeshEvent, type Packet, type RouterHost, type RouterStats } from './actors/router.js';
import { InvalidArgumentError, SocketClosedError } from './errors.js';
import { compression as supportedCompression } from './protocol/compression.js';
import { flags } from './protocol/flags.js';
import type { PathfindingMessage } from './protocol/message.js';
import type { Message } from './protocol/user-message.js';
import { RecvQueue } from './recv-queue.js';
import { RecvWaiters, type RecvTimer } from './recv-waiters.js';
import type { Connection } from './streams/connection.js';
import type { Transport } from './transport/transport.js';

/** The last argument of send(): which subflag and main flag the message goes under. */
export interface SendOptions {
  /** The subflag (py2p's `type=`): the first packet the receiver sees. Default 'broadcast'. */
  type?: string;
  /** The main flag (py2p's `flag=`), the message type on the wire. Default 'broadcast': flooded to every node, de-duplicated. */
  flag?: string;
}

/** What a facade gives its core: the router's host, minus what the core itself provides. */
export interface SocketCoreHost extends Pick<RouterHost, 'protocol' | 'options' | 'id' | 'outAddr' | 'transport' | 'accepted$' | 'notices$' | 'server' | 'extensions'> {
  readonly followPeersLists?: boolean;
  /** Runs a recv() timeout. */
  readonly timer: RecvTimer;
  /** False: messages go to messages$ only, never to the recv() queue. Default true. */
  readonly queueMessages?: boolean;
  /** Sees each event before events$ does (the browser follows advertised URLs again). */
  readonly onEvent?: (event: MeshEvent) => void;
  print(level: number, ...args: unknown[]): void;
}

/** The environment-independent core of a MeshSocket: a Router and the user API over it. */
export class SocketCore {
  readonly router: Router;
  readonly messages$: Observable<Message>;
  readonly events$: Observable<MeshEvent>;
  readonly received: RecvQueue;
  private readonly waiters: RecvWaiters;
  private readonly messageSubject = new Subject<Message>();
  private readonly eventSubject = new Subject<MeshEvent>();
  private readonly recentErrors: Error[] = [];
  private readonly queueing: boolean;
  private readonly maxErrors: number;
  private readonly onEventHook: ((event: MeshEvent) => void) | undefined;
  private closedPromise: Promise<void> | undefined;

  constructor(host: SocketCoreHost) {
    const o = host.options;
    this.queueing = host.queueMessages ?? true;
    this.maxErrors = o.maxErrors;
    this.onEventHook = host.onEvent;
    this.received = new RecvQueue(o.maxQueue, o.maxQueueBytes, o.queuePolicy);
    this.waiters = new RecvWaiters(this.received, host.timer);
    this.messages$ = this.messageSubject.asObservable();
    this.events$ = this.eventSubject.asObservable();
    this.router = new Router({
      protocol: host.protocol,
      options: o,
      supported: supportedCompression,
      id: host.id,
      outAddr: host.outAddr,
      transport: host.transport,
      accepted$: host.accepted$,
      notices$: host.notices$,
      server: host.server,
      extensions: host.extensions,
      followPeersLists: host.followPeersLists,
      deliver: (m) => this.deliver(m),
      emit: (e) => this.onEvent(e),
      print: (level, ...args) => host.print(level, ...args),
    });
  }

  /** True once close() has been called. */
  get closed(): boolean {
    return this.closedPromise !== undefined;
  }

  /** 'Nominal', or the recent errors (at most maxErrors). */
  get status(): 'Nominal' | Error[] {
    return this.recentErrors.length ? [...this.recentErrors] : 'Nominal';
  }

  /** The router's counters. */
  get stats(): RouterStats {
    return this.router.stats;
  }

  /** The handshaken peers by id. */
  get routingTable(): Map<string, Connection> {
    return this.router.routingTable;
  }

  /** send(): the arguments checked (packets, then a last SendOptions), then broadcast. */
  send(args: Array<Packet | SendOptions>): boolean {
    const { packets, options } = splitSendArgs(args);
    if (this.closedPromise) throw new SocketClosedError();
    return this.router.broadcast(packets, options.type ?? flags.broadcast, options.flag ?? flags.broadcast);
  }

  /** whisper(): the packets checked, then handed to the router (directly, or by py2p's request route). */
  whisper(id: string, packets: Packet[]): Promise<void> {
    checkPackets(packets);
    return new Promise<void>((resolve, reject) => this.router.command({ type: 'whisper', id, packets, done: { resolve, reject } }));
  }

  /** Dials host:port (over `transport` when given, else the router's own) and handshakes. */
  connect(host: string, port: number, transport?: Transport, id?: string): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => this.router.command({ type: 'connect', host, port, id, transport, done: { resolve, reject } }));
  }

  /** recv(): quantity 1 gives one message or undefined, any other a list (see RecvWaiters). */
  recv(quantity: number, timeoutMs: number | undefined): Promise<Message | undefined | Message[]> {
    return this.waiters.recv(quantity, timeoutMs, this.closedPromise !== undefined);
  }

  /** Resolves when every peer's send buffer is below its high-water mark. */
  async drained(): Promise<void> {
    await Promise.all([...this.router.routingTable.values()].filter((c) => c.needsDrain).map((c) => c.drained()));
  }

  /** Closes one peer's connection; true once closed, false if there was no such peer. */
  async disconnect(peer: string | Connection): Promise<boolean> {
    const conn = typeof peer === 'string' ? this.router.routingTable.get(peer) : peer;
    // Settled when the router handles it: at once, or after the input it is handling
    // (a disconnect() from a message handler).
    const found = await new Promise<boolean>((resolve) => this.router.command({ type: 'disconnect', peer, done: resolve }));
    if (found && conn) await conn.whenClosed;
    return found;
  }

  /** Floods a received message on; false if it was seen already. */
  waterfall(msg: Message | PathfindingMessage): boolean {
    let isNew = false;
    this.router.command({ type: 'waterfall', msg: 'msg' in msg ? msg.msg : msg, done: (v) => { isNew = v; } });
    return isNew;
  }

  /** py2p's handle_request on a message; true if it was a request or response. */
  handleRequest(msg: Message): boolean {
    let handled = false;
    this.router.command({ type: 'handle-request', msg: msg.msg, done: (v) => { handled = v; } });
    return handled;
  }

  /**
   * Once: waits for `before` (a Node socket's listen), stops the router, waits for it and
   * for `others` (the listeners), settles recv() calls and completes both streams.
   */
  close(before?: () => Promise<unknown>, others?: () => Array<Promise<unknown> | undefined>): Promise<void> {
    this.closedPromise ??= (async () => {
      if (before) await before().catch(() => undefined);
      this.router.command({ type: 'close' });
      await Promise.all([...(others?.() ?? []), this.router.closed()]);
      this.waiters.settleAll();
      this.messageSubject.complete();
      this.eventSubject.complete();
    })();
    return this.closedPromise;
  }

  private deliver(message: Message): void {
    if (this.queueing) this.router.stats.queueDropped += this.waiters.push(message);
    this.messageSubject.next(message);
    if (this.queueing) this.waiters.wake();
  }

  private onEvent(event: MeshEvent): void {
    if (event.type === 'error') {
      this.recentErrors.push(event.error);
      if (this.recentErrors.length > this.maxErrors) this.recentErrors.shift();
    }
    this.onEventHook?.(event);
    this.eventSubject.next(event);
  }
}

/** Throws InvalidArgumentError unless every packet is a string or bytes. */
export function checkPackets(packets: unknown[]): asserts packets is Packet[] {
  for (const p of packets) {
    if (typeof p !== 'string' && !(p instanceof Uint8Array)) {
      throw new InvalidArgumentError(`a packet must be a string or a Uint8Array, got ${p === null ? 'null' : typeof p}`);
    }
  }
}

const NO_OPTIONS: SendOptions = Object.freeze({});

/** send()'s arguments: the packets, and a last `{ type, flag }` if there is one (checked). */
export function splitSendArgs(args: Array<Packet | SendOptions>): { packets: Packet[]; options: SendOptions } {
  const last = args[args.length - 1];
  let options = NO_OPTIONS;
  let packets = args;
  if (last !== undefined && last !== null && typeof last === 'object' && !(last instanceof Uint8Array)) {
    options = last as SendOptions;
    packets = args.slice(0, -1);
    for (const k of ['type', 'flag'] as const) {
      if (options[k] !== undefined && (typeof options[k] !== 'string' || options[k] === '')) throw new InvalidArgumentError(`send option ${k} must be a non-empty string`);
    }
  }
  checkPackets(packets);
  return { packets: packets as Packet[], options };
}
