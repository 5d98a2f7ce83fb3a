// The router actor's vocabulary: what goes in (commands), what comes out (events,
// deliveries, counters), and what the socket gives it (RouterHost).
import type { PathfindingMessage } from '../protocol/message.js';
import type { Message, MessageServer } from '../protocol/user-message.js';
import type { Protocol } from '../protocol/protocol.js';
import type { Connection } from '../streams/connection.js';
import type { ResolvedOptions } from '../options.js';
import type { ListenerNotice, Transport, TransportConnection } from '../transport/transport.js';
import type { Observable } from 'rxjs';
import type { RouterComponent } from './component.js';

/** One packet of a message as the caller gives it: text (sent as UTF-8) or bytes. */
export type Packet = string | Uint8Array;

/** What the router tells the world. */
export type MeshEvent =
  | { type: 'peer-connected'; id: string; addr: [string, number]; outgoing: boolean }
  | { type: 'peer-disconnected'; id: string; addr: [string, number] | undefined; outgoing: boolean }
  | { type: 'error'; error: Error; peer?: string }
  /** Broadcasts repaired with one peer since the last such event (sent to it, received from it). */
  | { type: 'repair'; peer: string; sent: number; received: number; bytes: number };

export interface Settle<T> { resolve: (v: T) => void; reject: (e: Error) => void }

/** Requests to the router from the socket's public methods. */
export type RouterCommand =
  | { type: 'connect'; host: string; port: number; id?: string; done: Settle<boolean>; transport?: Transport }
  | { type: 'whisper'; id: string; packets: Packet[]; done: Settle<void> }
  | { type: 'waterfall'; msg: PathfindingMessage; done: (isNew: boolean) => void }
  | { type: 'handle-request'; msg: PathfindingMessage; done: (handled: boolean) => void }
  | { type: 'disconnect'; peer: string | Connection; done: (found: boolean) => void }
  | { type: 'close' };

export interface PendingRequest {
  target: string;
  packets: Packet[];
  expiresAt: number;
  done: Settle<void>;
  /** Later whispers to the same target, sent with this one's answer (no second request broadcast). */
  followers?: Array<{ packets: Packet[]; done: Settle<void> }>;
}

/** A lost dialled peer waiting to be dialled again. */
export interface Redial {
  host: string;
  port: number;
  attempt: number;
  /** Scheduler time the peer was lost (connections opened since may be its replacements). */
  lostAt: number;
  /** Scheduler time of the next attempt; Infinity while one is in flight. */
  dueAt: number;
}

/** Counters of a node since it started (`MeshSocket.stats`); each only grows. */
export interface RouterStats {
  /** Frames read from peers. */
  framesIn: number;
  /** Frames written to peers (relays and the repair exchange included). */
  framesOut: number;
  /** Messages handed to the user (messages$ and the recv() queue), each once. */
  delivered: number;
  /** Broadcasts and waterfalls dropped because their id was seen before. */
  duplicates: number;
  /** Broadcasts and waterfalls dropped as older than maxMessageAgeSeconds. */
  expired: number;
  /** Waterfalls dropped as py2p's re-timed copies of a message seen (retimedDuplicateWindowSeconds). */
  retimedDuplicates: number;
  /** Waterfalls not relayed to a peer that was maxRelayBacklogBytes behind. */
  relaysSkipped: number;
  /** Messages dropped from (or not put in) the full recv() queue, by queuePolicy. */
  queueDropped: number;
  /** Connections refused on accept for maxAwaiting or maxConnections. */
  connectionsRefused: number;
  /** Authenticated protocol: origin signatures verified (once per new message, never per copy). */
  signaturesVerified: number;
  /** Authenticated protocol: messages dropped for a missing, malformed or wrong signature. */
  badSignatures: number;
  /** Authenticated protocol: messages dropped because their origin is not on the allow-list (admitOrigins). */
  unadmittedOrigins?: number;
  /** Errors met, counted by code (ERR_…, or a system code such as ECONNRESET). */
  errors: Record<string, number>;
  /** Broadcasts this node sent to peers that asked for them (repair.ts). */
  repairSent: number;
  /** Broadcasts this node asked peers for, received and admitted (delivered once, flooded on). */
  repairReceived: number;
  /** Repair requests (`want`, up to repairMaxIds ids each) received. */
  repairRequests: number;
  /** Bytes of repaired frames sent. */
  repairBytes: number;
  /** Bytes of the repair exchange itself (sum, have, want) sent, whole frames. */
  repairControlBytes: number;
  /** Frames of the repair exchange sent (counted in framesOut too). */
  repairControlFrames: number;
  /** Repair messages ignored: over repairMaxRequests in an interval, or malformed. */
  repairRefused: number;
  /** Asked-for broadcasts not sent in an interval for repairMaxBytes (sent when asked again). */
  repairDeferred: number;
}

/** What a peer's handshake said, parsed and checked. */
export interface Hello {
  id: string;
  addr: [string, number];
  methods: string[];
}

export interface RouterHost {
  readonly protocol: Protocol;
  readonly options: ResolvedOptions;
  readonly supported: readonly string[];
  readonly id: () => string;
  readonly outAddr: () => [string, number];
  /** What carries bytes to peers (dialling); accepted connections come on accepted$. */
  readonly transport: Transport;
  readonly accepted$: Observable<TransportConnection>;
  /** The listener's notices: connections in a transport handshake, its failures, errors. */
  readonly notices$: Observable<ListenerNotice>;
  readonly server: MessageServer;
  /** The components beside the core protocol (authentication, repair, …), started in this order. */
  readonly extensions?: readonly RouterComponent[];
  /** False where the peers in py2p peers lists cannot be dialled (a browser: WebSocket only). Default true. */
  readonly followPeersLists?: boolean;
  deliver(message: Message): void;
  emit(event: MeshEvent): void;
  print(level: number, ...args: unknown[]): void;
}
