// The router actor's core: its inputs, its mailbox, its dispatch, its error containment.
// What it does with each input lives beside it, one concern per module, as functions
// over the one RouterState it owns:
//
//   state.ts        the state, and the steps every module shares (adopt, sendTo, drop, post, …)
//   types.ts        commands, events, counters, the host (what the socket gives the actor)
//   lifecycle.ts    accepted / refused / faults / closed / disconnect / timeouts / shutdown
//   dial.ts         dialling, connect waiters, re-dialling lost peers with backoff
//   handshake.ts    the handshake and the peers lists
//   dedup.ts        de-duplication as one policy: key, window, caches, counters, admission
//   flood.ts        relaying, this node's broadcasts (hot path, with dedup.ts and subflags.ts)
//   subflags.ts     the subflag registry's core entries, delivery to the user
//   requests.ts     whispers and py2p's request/response route
//   renegotiate.ts  undecodable frames and compression renegotiation
//
// The mailbox: an input that arrives while another is being handled (a command or a
// send() from the user's message handler, a dial settled inside a handshake, a task a
// component posts) is queued and handled after it, in order, by the same loop: no
// handler ever runs inside another. An input that finds the actor idle is handled at
// once, in the caller's stack, with no allocation (a send's latency is mostly this path).
//
// Components (component.ts; RouterHost.extensions) are features beside the core
// protocol: the authenticated protocol (trust.ts), repair (repair.ts), the WebSocket
// directory (web.ts), peer discovery (discovery.ts). Each is started once with the
// actor's context and registers handlers into typed stage lists (Stages: handshake,
// holdHandshake, closeReason, verify, direct, seal, queue, peerConnected, accept,
// admitOld, sent, admitted, tick, closed, routeWhisper) and its subflags into the
// registry; it is stopped when the node closes. Work a component does later (a batch
// signed on the next tick) comes back as a task input (RouterState.post, later).
// A new transport needs no component: it is a Transport (src/transport) given to MeshSocket.
import { interval, map, merge, mergeMap, type Observable, type Subscription } from 'rxjs';
import { flags } from '../protocol/flags.js';
import type { PathfindingMessage } from '../protocol/message.js';
import { InternalError, SocketClosedError, UnknownFlagError } from '../errors.js';
import type { Connection, ConnectionEvent } from '../streams/connection.js';
import type { ParsedFrame } from '../streams/parse.js';
import type { ListenerNotice, TransportConnection } from '../transport/transport.js';
import { refusedSender } from './bounds.js';
import type { ComponentContext } from './component.js';
import { admitVerified, ownBroadcast } from './dedup.js';
import { dial, redialDue } from './dial.js';
import { broadcastFromHere, flood, relay } from './flood.js';
import { disconnect, forgetAll, onAccepted, onClosed, onFault, onPending, onPendingFailed, shutdown, sweepTimeouts } from './lifecycle.js';
import { onRenegotiate, onUndecodable } from './renegotiate.js';
import { expireRequests, whisper } from './requests.js';
import { RouterState, type Packet, type PendingRequest, type RouterCommand, type RouterHost, type RouterStats, type Task } from './state.js';
import { handleEarly, handleMessage, handleRequestOnly, registerCoreSubflags } from './subflags.js';
import type { WaterfallCache } from './waterfall-cache.js';

export type { MeshEvent, Packet, RouterCommand, RouterHost, RouterStats } from './state.js';
export type { ComponentContext, RouterComponent, RouterExtension, Stages, SubflagHandler } from './component.js';
export { RouterState } from './state.js';

type RouterInput =
  | ConnectionEvent
  | { type: 'accepted'; link: TransportConnection }
  | { type: 'notice'; notice: ListenerNotice }
  | { type: 'tick' }
  | { type: 'command'; command: RouterCommand }
  | { type: 'send'; packets: Packet[]; subflag: string; flag: string }
  | { type: 'task'; run: Task };

/**
 * The router actor: the one owner of the routing table, the connections awaiting a
 * handshake, the pending requests and the de-duplication caches. It consumes one merged
 * stream (connection events, accepted connections, listener notices, housekeeping
 * ticks) and the commands, sends and tasks handed to it, through one mailbox: each
 * input is handled to the end before the next, and none inside another.
 */
export class Router {
  /** The state this actor alone writes. */
  readonly state: RouterState;
  private readonly subscription: Subscription;
  /** True while an input is being handled: inputs that come meanwhile wait in `queue`. */
  private busy = false;
  /** Inputs that came while another was handled, oldest first (drained by the loop at the top). */
  private readonly queue: Array<RouterInput | undefined> = [];

  constructor(host: RouterHost) {
    const s = (this.state = new RouterState(host, (c) => this.command(c), (run) => this.handle({ type: 'task', run })));
    registerCoreSubflags(s);
    const ctx: ComponentContext = { state: s, on: s.stages, subflag: (name, handler) => s.registerSubflag(name, handler) };
    for (const c of s.components) c.start(ctx);
    const inputs$: Observable<RouterInput> = merge(
      s.connections$.pipe(mergeMap((conn) => conn.events$)),
      host.accepted$.pipe(map((link) => ({ type: 'accepted' as const, link }))),
      host.notices$.pipe(map((notice) => ({ type: 'notice' as const, notice }))),
      interval(host.options.sweepIntervalMs, host.options.scheduler).pipe(map(() => ({ type: 'tick' as const }))),
    );
    this.subscription = inputs$.subscribe((input) => this.handle(input));
  }

  /** Handshaken peers by node id (py2p's routing_table). */
  get routingTable(): Map<string, Connection> {
    return this.state.routingTable;
  }

  /** Connections whose handshake is not done yet. */
  get awaiting(): Set<Connection> {
    return this.state.awaiting;
  }

  /** Whispers waiting for a route through request/response. */
  get requests(): Map<string, PendingRequest> {
    return this.state.requests;
  }

  /** The de-duplication cache of message ids. */
  get waterfalls(): WaterfallCache {
    return this.state.dedup.ids;
  }

  /** The node's counters. */
  get stats(): RouterStats {
    return this.state.stats;
  }

  /**
   * Hands a command to the actor: handled at once if the actor is idle, else after the
   * input it is handling (in order); its result comes through its done callback.
   */
  command(command: RouterCommand): void {
    if (this.state.closing && command.type !== 'close') return refuseClosed(command);
    this.handle({ type: 'command', command });
  }

  /**
   * send(): a broadcast from this node, handled at once like a command but without
   * one (no callback to allocate per message). False if a peer's buffer is full, the
   * node is closing, or the send failed (recorded like any input's failure). While the
   * actor handles another input (a send from the user's message handler), the send
   * waits its turn, and what it returns is whether every peer is below its high-water mark now.
   */
  broadcast(packets: Packet[], subflag: string, flag: string): boolean {
    const s = this.state;
    if (s.closing) return false;
    if (this.busy) {
      this.queue.push({ type: 'send', packets, subflag, flag });
      for (const c of s.routingTable.values()) if (c.needsDrain) return false;
      return true;
    }
    this.busy = true;
    try {
      return broadcastFromHere(s, packets, subflag, flag);
    } catch (err) {
      s.recordError(new InternalError(err));
      return false;
    } finally {
      if (this.queue.length !== 0) this.drain();
      this.busy = false;
    }
  }

  /** Ids of handshaken peers this node dialled. */
  get outgoing(): string[] {
    return [...this.state.routingTable].filter(([, c]) => c.outgoing).map(([id]) => id);
  }

  /** Ids of handshaken peers that dialled this node. */
  get incoming(): string[] {
    return [...this.state.routingTable].filter(([, c]) => !c.outgoing).map(([id]) => id);
  }

  /** Resolves once every connection has closed (after shutdown, each ends on its transport's close). */
  async closed(): Promise<void> {
    await Promise.all([...this.state.live].map((c) => c.whenClosed));
  }

  // ---------------------------------------------------------------- the mailbox

  /** One input: handled now if the actor is idle (then whatever queued meanwhile), else queued. */
  private handle(input: RouterInput): void {
    if (this.busy) {
      this.queue.push(input);
      return;
    }
    this.busy = true;
    try {
      this.handleOne(input);
      if (this.queue.length !== 0) this.drain();
    } finally {
      this.busy = false;
    }
  }

  /** Handles the queued inputs in order, those queued while draining included. */
  private drain(): void {
    const q = this.queue;
    try {
      for (let i = 0; i < q.length; i++) {
        const input = q[i]!;
        q[i] = undefined;
        this.handleOne(input);
      }
    } finally {
      q.length = 0;
    }
  }

  // ---------------------------------------------------------------- dispatch

  /**
   * One input, handled to the end. Nothing thrown here may end the actor's
   * subscription (that would stop the whole node): a throw is recorded as an
   * InternalError and costs at most the connection the input came from.
   */
  private handleOne(input: RouterInput): void {
    try {
      this.dispatch(input);
    } catch (err) {
      const conn = 'conn' in input ? input.conn : undefined;
      this.state.recordError(new InternalError(err), conn?.id ?? conn?.remote);
      conn?.destroy();
    }
  }

  private dispatch(input: RouterInput): void {
    const s = this.state;
    switch (input.type) {
      case 'frame': return this.onFrame(input.conn, input.frame);
      case 'fault': return onFault(s, input.conn, input.error);
      case 'closed': return onClosed(s, input.conn);
      case 'accepted': return onAccepted(s, input.link);
      case 'notice': return this.onNotice(input.notice);
      case 'tick': return this.onTick();
      case 'command': return this.onCommand(input.command);
      case 'send': return void (s.closing || broadcastFromHere(s, input.packets, input.subflag, input.flag));
      case 'task': return input.run(s);
    }
  }

  private onCommand(c: RouterCommand): void {
    const s = this.state;
    // A command queued before the node began to close fails as one issued after.
    if (s.closing && c.type !== 'close') return refuseClosed(c);
    switch (c.type) {
      case 'connect': return dial(s, c.host, c.port, c.id, c.done, c.transport);
      case 'whisper': return whisper(s, c.id, c.packets, c.done);
      case 'waterfall': return c.done(flood(s, c.msg, undefined));
      case 'handle-request': return c.done(handleRequestOnly(s, c.msg));
      case 'disconnect': return c.done(disconnect(s, c.peer));
      case 'close': return this.shutdown();
    }
  }

  private onNotice(notice: ListenerNotice): void {
    const s = this.state;
    switch (notice.type) {
      case 'pending': return onPending(s, notice.conn);
      case 'pending-failed': return onPendingFailed(s, notice.conn, notice.error);
      case 'error': return void s.host.emit({ type: 'error', error: notice.error });
    }
  }

  private onTick(): void {
    const s = this.state;
    const now = s.now();
    sweepTimeouts(s, now);
    expireRequests(s, now);
    s.dedup.expire(s.utc());
    redialDue(s, now);
    for (const tick of s.stages.tick) tick(s, now);
  }

  private shutdown(): void {
    const s = this.state;
    if (s.closing) return;
    shutdown(s);
    this.subscription.unsubscribe();
    forgetAll(s);
  }

  // ---------------------------------------------------------------- receiving

  private onFrame(conn: Connection, frame: ParsedFrame): void {
    if (conn.closed) return;
    const s = this.state;
    s.stats.framesIn++;
    if (!frame.ok) return onUndecodable(s, conn, frame.error);
    conn.decodeFailures = 0;
    const msg = frame.msg;
    const type = msg.msgType;
    // Until the peer has said who it is, only its handshake is read (and what a
    // component holding the handshake waits for, e.g. a proof of identity).
    if (!conn.handshaken) return handleEarly(s, conn, msg);
    if (refusedSender(s, conn, msg)) return;
    const stages = s.stages;
    switch (type) {
      case flags.broadcast:
      case flags.waterfall: {
        // This node's own broadcast, flooded back by a peer (or a forgery in its name).
        if (ownBroadcast(s, msg)) return;
        if (s.dedup.seenBeforeRestart(msg)) return;
        if (stages.accept.length !== 0 && !accepted(s, msg, conn)) return;
        // Checked once per message, after de-duplication (copies cost no verification),
        // and remembered as seen only once verified (a forgery cannot shadow it).
        if (!admitVerified(s, msg, conn)) return;
        // The user has the message before it is relayed: a relay is one socket write
        // per peer, and the user's latency need not include them. Delivering it may
        // make its plain relay frame, which the relay and the admitted stage then use.
        const frame = handleMessage(s, msg, conn, true);
        // The admitted stage next, before the relay's socket writes: the data directory's
        // record follows the user's delivery as closely as it can (a kill between the two
        // shows that one message again after a restart).
        const admitted = stages.admitted;
        if (admitted.length !== 0) for (const f of admitted) f(s, msg, conn, frame);
        relay(s, msg, conn, frame);
        if (type === flags.broadcast) s.dedup.noteContent(msg);
        return;
      }
      case flags.whisper:
        if (stages.direct.length !== 0 && !acceptedDirect(s, msg, conn)) return;
        handleMessage(s, msg, conn, false);
        return;
      case flags.renegotiate:
        if (stages.direct.length !== 0 && !acceptedDirect(s, msg, conn)) return;
        return onRenegotiate(s, conn, msg);
      default:
        s.recordError(new UnknownFlagError(type), conn.id);
    }
  }
}

/** A command that came after the node began to close: failed as the socket is closed. */
function refuseClosed(command: RouterCommand): void {
  switch (command.type) {
    case 'waterfall': return command.done(false);
    case 'handle-request': return command.done(false);
    case 'disconnect': return command.done(false);
    case 'close': return;
    default: return command.done.reject(new SocketClosedError());
  }
}

function acceptedDirect(s: RouterState, msg: PathfindingMessage, conn: Connection): boolean {
  for (const accept of s.stages.direct) if (!accept(s, msg, conn)) return false;
  return true;
}

function accepted(s: RouterState, msg: PathfindingMessage, from: Connection): boolean {
  for (const accept of s.stages.accept) if (!accept(s, msg, from)) return false;
  return true;
}
