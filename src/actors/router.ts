// The router actor's core: its inputs, its dispatch, its error containment. What it
// does with each input lives beside it, one concern per module, as functions over the
// one RouterState it owns:
//
//   state.ts        the state, and the steps every module shares (adopt, sendTo, drop, …)
//   lifecycle.ts    accepted / refused / faults / closed / disconnect / timeouts / shutdown
//   dial.ts         dialling, connect waiters, re-dialling lost peers with backoff
//   handshake.ts    the handshake and the peers lists
//   flood.ts        admission, de-duplication, relaying, this node's broadcasts (hot path)
//   requests.ts     whispers and py2p's request/response route
//   renegotiate.ts  undecodable frames and compression renegotiation
//
// Hook points for features beside the core protocol (RouterHost.extensions, see
// RouterExtension in state.ts), each consulted only by extensions that define it:
//   onHandshake     a well-formed handshake, before the peer joins: may refuse it
//   onPeerConnected a peer joined the routing table
//   acceptBroadcast a broadcast or waterfall from a peer, before de-duplication: may drop it
//   onAdmitted      a new broadcast, after delivery and relay
//   onSubflag       a whisper or broadcast with a subflag the core does not know: may claim it
//   onTick          the housekeeping tick;  onClosed  a connection ended;  onShutdown
//   holdHandshake, onFrameBeforeHandshake, closeReason   a handshake that waits on more
//                   (the authenticated protocol's proof: src/actors/trust.ts)
//   verifyAdmitted  a new broadcast, after de-duplication, before delivery and relay
//   acceptDirect    a whisper or renegotiation from a peer;  sealBroadcast  one of ours
// A new transport needs no hook: it is a Transport (src/transport) given to MeshSocket.
import { interval, map, merge, mergeMap, type Observable, type Subscription } from 'rxjs';
import { flags } from '../protocol/flags.js';
import type { PathfindingMessage } from '../protocol/message.js';
import { Message } from '../protocol/user-message.js';
import { InternalError, SocketClosedError, UnknownFlagError } from '../errors.js';
import type { Connection, ConnectionEvent } from '../streams/connection.js';
import type { ParsedFrame } from '../streams/parse.js';
import type { ListenerNotice, TransportConnection } from '../transport/transport.js';
import { refusedSender } from './bounds.js';
import { dial, redialDue } from './dial.js';
import { admit, broadcastFromHere, expireSeen, flood, noteContent, ownCopy, relay, verifiedByExtensions } from './flood.js';
import { onHandshake, onPeers } from './handshake.js';
import { disconnect, forgetAll, onAccepted, onClosed, onFault, onPending, onPendingFailed, shutdown, sweepTimeouts } from './lifecycle.js';
import { onRenegotiate, onUndecodable } from './renegotiate.js';
import { expireRequests, onRequest, onResponse, whisper } from './requests.js';
import { RouterState, type Packet, type PendingRequest, type RouterCommand, type RouterHost, type RouterStats } from './state.js';
import type { WaterfallCache } from './waterfall-cache.js';

export type { MeshEvent, Packet, RouterCommand, RouterExtension, RouterHost, RouterStats } from './state.js';
export { RouterState } from './state.js';

type RouterInput =
  | ConnectionEvent
  | { type: 'accepted'; link: TransportConnection }
  | { type: 'notice'; notice: ListenerNotice }
  | { type: 'tick' }
  | { type: 'command'; command: RouterCommand };

/**
 * The router actor: the one owner of the routing table, the connections awaiting a
 * handshake, the pending requests and the waterfall cache. It consumes one merged
 * stream (connection events, accepted connections, listener notices, commands,
 * housekeeping ticks) and handles each input to the end before the next: no other
 * module touches its state.
 */
export class Router {
  readonly state: RouterState;
  private readonly subscription: Subscription;

  constructor(host: RouterHost) {
    const s = (this.state = new RouterState(host, (c) => this.command(c)));
    const inputs$: Observable<RouterInput> = merge(
      s.connections$.pipe(mergeMap((conn) => conn.events$)),
      host.accepted$.pipe(map((link) => ({ type: 'accepted' as const, link }))),
      host.notices$.pipe(map((notice) => ({ type: 'notice' as const, notice }))),
      interval(host.options.sweepIntervalMs, host.options.scheduler).pipe(map(() => ({ type: 'tick' as const }))),
    );
    this.subscription = inputs$.subscribe((input) => this.handle(input));
  }

  get routingTable(): Map<string, Connection> {
    return this.state.routingTable;
  }

  get awaiting(): Set<Connection> {
    return this.state.awaiting;
  }

  get requests(): Map<string, PendingRequest> {
    return this.state.requests;
  }

  get waterfalls(): WaterfallCache {
    return this.state.waterfalls;
  }

  get stats(): RouterStats {
    return this.state.stats;
  }

  /** Hands a command to the actor (handled synchronously, in order). */
  command(command: RouterCommand): void {
    if (this.state.closing && command.type !== 'close') {
      const err = new SocketClosedError();
      switch (command.type) {
        case 'waterfall': return command.done(false);
        case 'handle-request': return command.done(false);
        case 'disconnect': return command.done(false);
        default: return command.done.reject(err);
      }
    }
    // Commands are handled at once, in the caller's stack, like every other input:
    // not through an Observable of their own (a send's latency is mostly this path).
    this.handle({ type: 'command', command });
  }

  /**
   * send(): a broadcast from this node, handled at once like a command but without
   * one (no callback to allocate per message). False if a peer's buffer is full, the
   * node is closing, or the send failed (recorded like any input's failure).
   */
  broadcast(packets: Packet[], subflag: string, flag: string): boolean {
    const s = this.state;
    if (s.closing) return false;
    try {
      return broadcastFromHere(s, packets, subflag, flag);
    } catch (err) {
      s.recordError(new InternalError(err));
      return false;
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

  // ---------------------------------------------------------------- dispatch

  /**
   * One input, handled to the end. Nothing thrown here may end the actor's
   * subscription (that would stop the whole node): a throw is recorded as an
   * InternalError and costs at most the connection the input came from.
   */
  private handle(input: RouterInput): void {
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
    }
  }

  private onCommand(c: RouterCommand): void {
    const s = this.state;
    switch (c.type) {
      case 'connect': return dial(s, c.host, c.port, c.id, c.done, c.transport);
      case 'whisper': return whisper(s, c.id, c.packets, c.done);
      case 'waterfall': return c.done(flood(s, c.msg, undefined));
      case 'handle-request': return c.done(handleSubflag(s, c.msg, undefined, true));
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
    expireSeen(s);
    redialDue(s, now);
    for (const ext of s.hooks.onTick) ext.onTick!(s, now);
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
    if (!conn.handshaken) {
      // Until the peer has said who it is, only its handshake is read (and what an
      // extension holding the handshake waits for, e.g. a proof of identity).
      if (type === flags.whisper && msg.subflag === flags.handshake) onHandshake(s, conn, msg);
      else if (s.hooks.onFrameBeforeHandshake.length !== 0) for (const ext of s.hooks.onFrameBeforeHandshake) ext.onFrameBeforeHandshake!(s, conn, msg);
      return;
    }
    if (refusedSender(s, conn, msg)) return;
    switch (type) {
      case flags.broadcast:
      case flags.waterfall:
        // This node's own broadcast, flooded back by a peer (or a forgery in its name).
        if (msg.senderIs(s.bytesOf(s.host.id()))) {
          s.stats.duplicates++;
          return;
        }
        if (s.hooks.acceptBroadcast.length !== 0 && !acceptedByExtensions(s, msg, conn)) return;
        if (!admit(s, msg, conn)) return;
        // Checked once per message, after de-duplication: copies cost no verification.
        if (s.hooks.verifyAdmitted.length !== 0 && !verifiedByExtensions(s, msg, conn)) return;
        // The user has the message before it is relayed: a relay is one socket write
        // per peer, and the user's latency need not include them.
        handleSubflag(s, msg, conn, false, true);
        relay(s, msg, conn);
        if (type === flags.broadcast) noteContent(s, msg);
        if (s.hooks.onAdmitted.length !== 0) for (const ext of s.hooks.onAdmitted) ext.onAdmitted!(s, msg, conn);
        return;
      case flags.whisper:
        if (s.hooks.acceptDirect.length !== 0 && !acceptedDirect(s, msg, conn)) return;
        handleSubflag(s, msg, conn, false);
        return;
      case flags.renegotiate:
        if (s.hooks.acceptDirect.length !== 0 && !acceptedDirect(s, msg, conn)) return;
        return onRenegotiate(s, conn, msg);
      default:
        s.recordError(new UnknownFlagError(type), conn.id);
    }
  }
}

function acceptedDirect(s: RouterState, msg: PathfindingMessage, conn: Connection): boolean {
  for (const ext of s.hooks.acceptDirect) if (!ext.acceptDirect!(s, msg, conn)) return false;
  return true;
}

function acceptedByExtensions(s: RouterState, msg: PathfindingMessage, from: Connection): boolean {
  for (const ext of s.hooks.acceptBroadcast) if (!ext.acceptBroadcast!(s, msg, from)) return false;
  return true;
}

/** Subflag-level handling (py2p handle_msg): automated subflags, else to the user. */
function handleSubflag(s: RouterState, msg: PathfindingMessage, conn: Connection | undefined, onlyRequests: boolean, relaying = false): boolean {
  const subflag = msg.subflag;
  if (subflag === undefined) return false;
  switch (subflag) {
    case flags.handshake:
      if (onlyRequests) return false;
      return true; // a repeated or flooded handshake changes nothing
    case flags.peers:
      if (onlyRequests) return false;
      if (conn) onPeers(s, conn, msg.payload);
      return true;
    case flags.request:
      onRequest(s, conn, msg.payload);
      return true;
    case flags.response:
      onResponse(s, msg.payload, conn);
      return true;
    default:
      if (onlyRequests) return false;
      if (s.hooks.onSubflag.length !== 0 && claimedByExtensions(s, msg, conn)) return true;
      s.stats.delivered++;
      // Where an extension proves senders (the authenticated protocol), every message
      // delivered was proven: a broadcast by its origin's signature, a whisper by its connection.
      s.host.deliver(new Message(ownCopy(s, msg, relaying), s.host.server, s.sendersProven,
        s.trailerPackets !== 0 && (msg.msgType === flags.broadcast || msg.msgType === flags.waterfall) ? s.trailerPackets : 0));
      return true;
  }
}

function claimedByExtensions(s: RouterState, msg: PathfindingMessage, conn: Connection | undefined): boolean {
  for (const ext of s.hooks.onSubflag) if (ext.onSubflag!(s, msg, conn)) return true;
  return false;
}
