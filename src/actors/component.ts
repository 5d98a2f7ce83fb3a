// Components: features beside the core protocol (the authenticated protocol, repair,
// the WebSocket directory, peer discovery). A component is started once, with the
// actor's context, and registers what it does into typed stage lists and the subflag
// registry; the router calls every handler of a stage, in registration order, from
// inside the actor (one input at a time: a handler may read and write the state, and
// must not block). A handler that throws costs the input it was called for.
import type { PathfindingMessage } from '../protocol/message.js';
import type { Connection } from '../streams/connection.js';
import type { RouterState } from './state.js';
import type { Hello, Packet } from './types.js';

/**
 * A whisper or admitted broadcast with one subflag, before it goes to the user: true
 * claims it (it is not delivered); false hands it to the user as any other message.
 * `conn` is undefined for a message the user hands back (waterfall(), handleRequest()).
 */
export type SubflagHandle = (s: RouterState, msg: PathfindingMessage, conn: Connection | undefined) => boolean;

/** The one home of a subflag: what the router does with a message that carries it. */
export interface SubflagHandler {
  /** A handshaken peer's whisper, or an admitted broadcast. */
  readonly handle: SubflagHandle;
  /** Also run by handleRequest() (py2p's handle_msg for the request route): request and response only. */
  readonly requests?: boolean;
  /** A whisper from a connection not handshaken yet (the handshake itself, a proof of identity). */
  readonly early?: (s: RouterState, conn: Connection, msg: PathfindingMessage) => void;
}

/**
 * The stages a component may take part in. Each is a list of handlers, called in the
 * order they were registered; a list no component uses costs one length check.
 */
export interface Stages {
  /** A well-formed handshake, before the peer joins: an Error refuses it (the connection is dropped with it). */
  readonly handshake: Array<(s: RouterState, conn: Connection, msg: PathfindingMessage) => Error | undefined>;
  /**
   * A well-formed handshake the component takes over (e.g. until the peer proves its
   * id): true holds it, and the peer stays awaiting, with no event, until the component
   * calls completeHandshake(s, conn, hello) (or drops it).
   */
  readonly holdHandshake: Array<(s: RouterState, conn: Connection, hello: Hello) => boolean>;
  /** Why a connection that closed before its handshake completed failed, where the component knows better. */
  readonly closeReason: Array<(s: RouterState, conn: Connection) => Error | undefined>;
  /**
   * A new broadcast or waterfall (in time, not seen), before it is delivered or relayed:
   * false drops it. Only one that passes is remembered as seen (validate, then remember).
   */
  readonly verify: Array<(s: RouterState, msg: PathfindingMessage, from: Connection | undefined) => boolean>;
  /** A whisper or renegotiation from a handshaken peer: false drops it. */
  readonly direct: Array<(s: RouterState, msg: PathfindingMessage, conn: Connection) => boolean>;
  /** The payload of a broadcast this node originates, sent with `time` (e.g. signed). */
  readonly seal: Array<(s: RouterState, payload: Packet[], time: number) => Packet[]>;
  /**
   * A broadcast this node originates (send()): a handler may take it, to send it later
   * through sendFromHere, and return what send() returns; undefined leaves it to the router.
   */
  readonly queue: Array<(s: RouterState, payload: Packet[], flag: string, time: number) => boolean | undefined>;
  /** A peer joined the routing table (its handshake done, its peers list sent). */
  readonly peerConnected: Array<(s: RouterState, conn: Connection) => void>;
  /** A broadcast or waterfall from a peer, before de-duplication: false drops it. On the hot path: keep it cheap. */
  readonly accept: Array<(s: RouterState, msg: PathfindingMessage, from: Connection) => boolean>;
  /** A broadcast older than maxMessageAgeSeconds (not from the future): true admits it all the same. */
  readonly admitOld: Array<(s: RouterState, msg: PathfindingMessage, now: number) => boolean>;
  /** A broadcast this node sent (send()), after it went to every peer. */
  readonly sent: Array<(s: RouterState, msg: PathfindingMessage) => void>;
  /**
   * A broadcast admitted from a peer (new, in time), after it was delivered, before it is relayed;
   * `frame` is the plain waterfall frame made for it while it was delivered, if one was.
   */
  readonly admitted: Array<(s: RouterState, msg: PathfindingMessage, from: Connection, frame: Buffer | undefined) => void>;
  /** The housekeeping tick (every sweepIntervalMs), after the router's own sweep. */
  readonly tick: Array<(s: RouterState, now: number) => void>;
  /** A connection ended (handshaken or not), after the router forgot it. */
  readonly closed: Array<(s: RouterState, conn: Connection) => void>;
  /**
   * A whisper to a node not in the routing table, before py2p's request route: true sent
   * it another way; an Error fails it at once; undefined leaves it to the request route.
   */
  readonly routeWhisper: Array<(s: RouterState, target: string, packets: Packet[]) => boolean | Error | undefined>;
}

/** Empty stage lists. */
export function makeStages(): Stages {
  return {
    handshake: [], holdHandshake: [], closeReason: [], verify: [], direct: [], seal: [], queue: [], peerConnected: [],
    accept: [], admitOld: [], sent: [], admitted: [], tick: [], closed: [], routeWhisper: [],
  };
}

/** What a component is started with: the actor's state, its stages and its subflag registry. */
export interface ComponentContext {
  /** The state the actor owns (read and written only from handlers and tasks). */
  readonly state: RouterState;
  /** The stage lists to register handlers into. */
  readonly on: Stages;
  /** Registers the one handler of a subflag; a subflag registered twice is an error. */
  subflag(name: string, handler: SubflagHandler): void;
}

/**
 * A feature beside the core protocol (authentication, repair of missed broadcasts, …),
 * given in RouterHost.extensions: started once when the router is made (start
 * registers its handlers), stopped once when the node closes.
 */
export interface RouterComponent {
  /** The component's name, for logs and errors. */
  readonly name: string;
  /**
   * Capability names this node adds to its handshake's compression list. py2p 0.2 keeps
   * only the methods it knows from that list, so a py2p peer ignores them; an rx2p peer
   * sees them in conn.compression.
   */
  readonly advertise?: readonly string[];
  /** True when the component proves the sender of every message delivered (Message.verified). */
  readonly provesSenders?: boolean;
  /** Packets the component's protocol ends every broadcast and waterfall with (e.g. a signature): the user's message does not show them. */
  readonly trailerPackets?: number;
  /** Registers the component's handlers (called once, from the router's constructor). */
  start(ctx: ComponentContext): void;
  /** The node is closing: the component lets go of what it holds. */
  stop(): void;
}

/** The name RouterComponent had when features were objects of optional hooks: the same type. */
export type RouterExtension = RouterComponent;
