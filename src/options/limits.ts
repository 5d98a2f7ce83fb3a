// The bounds on what peers send and what the node holds: frames, JSON texts, timeouts,
// connections, caches, buffers, the recv() queue. Part of the options table
// (src/options/table.ts, src/options.ts).
import { defaultJsonLimits } from '../protocol/bounds.js';
import { defaultLimits } from '../protocol/message.js';
import { READ_BUDGET_BYTES, READ_BUDGET_MS } from '../transport/byte-source.js';
import { int, oneOf } from './table.js';

/** Every bound on what peers send and on what this node keeps. */
export const limitOptions = {
  /** Largest frame accepted, checked from its size header before allocation. Default 16 MiB. */
  maxFrameBytes: int(defaultLimits.maxFrameBytes, 64),
  /** Largest body a compressed frame may inflate to. Default 16 MiB. */
  maxDecompressedBytes: int(defaultLimits.maxDecompressedBytes, 64),
  /** Most packets in one message. Default 10,000. */
  maxPackets: int(defaultLimits.maxPackets, 5),
  /**
   * Longest time packet accepted, in characters, checked before it is decoded (base_58
   * decoding costs the square of the length: a 300 KB time packet took seconds). A
   * unix time is 6 characters. A longer one ends the connection (FieldTooLargeError).
   * Default 16.
   */
  maxTimeChars: int(defaultLimits.maxTimeChars!, 6),
  /**
   * Largest JSON text of a control message (handshake address and compression list,
   * peers list, response, renegotiation), checked before it is parsed. Default 256 KiB
   * (a peers list of ~2,000 entries).
   */
  maxJsonBytes: int(defaultJsonLimits.maxJsonBytes, 1024),
  /** Deepest nesting of such a JSON text, found by a linear scan before parsing (py2p's are 3 deep). Default 16. */
  maxJsonDepth: int(defaultJsonLimits.maxJsonDepth, 3),
  /** A connection that has not handshaken by then is closed. Default 10,000 ms. */
  handshakeTimeoutMs: int(10_000, 1),
  /** A connection holding an unfinished frame this long is closed (py2p: 60 s). Default 60,000 ms. */
  frameTimeoutMs: int(60_000, 1),
  /** Connections accepted but not yet handshaken, at most (SSL: from the TCP accept, the TLS handshake included). Default 64. */
  maxAwaiting: int(64, 1),
  /** Connections of all kinds, at most. Default 256. */
  maxConnections: int(256, 1),
  /** Entries of one received peers list that are considered. Default 64. */
  maxPeersList: int(64),
  /**
   * Message ids kept for de-duplication, at most (oldest evicted first). Default 100,000.
   * The content hashes kept for retimedDuplicateWindowSeconds have the same bound. Both
   * caches full cost about 200 bytes of heap per entry pair, the id label included (20 MB
   * by default, `npm run bench` W5); spec/hostile/flood.spec.ts measures a flood.
   */
  waterfallCacheSize: int(100_000, 1),
  /** Broadcasts and waterfalls older than this are dropped. Default 60 s. */
  maxMessageAgeSeconds: int(60, 1),
  /**
   * py2p 0.2 re-sends a waterfall with a new time, hence a new id. A waterfall whose
   * sender and payload match a message seen with a time this close is dropped as such
   * a copy. 0 turns the check off. Default 2 s. Only messages up to 64 KiB are tracked.
   */
  retimedDuplicateWindowSeconds: int(2),
  /**
   * A py2p 0.2 node relays a broadcast as a waterfall dated when it relays it: a busy one
   * is seconds behind, past retimedDuplicateWindowSeconds. So a waterfall from a py2p peer
   * (one that did not name the rx2p capability) whose sender and payload match a message
   * seen with a time this close is dropped as such a copy; and a message that arrives
   * after such a copy was delivered, with the same sender and payload, dated at most this
   * much before it, is dropped as the copy's original. The cost: a sender's identical
   * payloads this close together reach a node whose only route is a py2p relay once.
   * 0 turns it off. Default 30 s.
   */
  py2pCopyWindowSeconds: int(30),
  /**
   * Waterfalls younger than this are relayed to py2p peers (peers that did not name the
   * rx2p capability); 0 relays them none. py2p 0.2 drops every waterfall younger than 60 s
   * (its age test is inverted), so a relay is only work for it; and it takes one 60 s old
   * or older, by its clock when it reads it, as new: it floods it dated anew (a copy every
   * node delivers again, and py2p nodes flood to each other again a minute later) and
   * raises on some (a handshake or a request in one). A py2p node a minute behind reads
   * every relay that old. For a py2p that takes young waterfalls, set it below 60.
   * Default 0.
   */
  py2pRelayMaxAgeSeconds: int(0),
  /** Unsent bytes to one peer, at most; a peer that does not read is dropped. Default 64 MiB. */
  maxSendBufferBytes: int(64 * 1024 * 1024, 1024),
  /**
   * The per-turn read budget, in time: once one connection's chunks have taken this long
   * to handle (deframe, parse, de-duplicate, deliver, relay) in one turn of the event
   * loop, it stops reading until the next turn, so that other peers and timers get their
   * share and a peer that floods slows only itself. 0 turns it off, for a mesh of trusted
   * peers only: then a peer can hold the loop for as long as its bytes take (a 16 MiB
   * WebSocket message of tiny broadcasts held it over a second), and a saturated full mesh
   * skips more of its redundant relays (W1 about 5 % faster, docs/backpressure.md). Applies to
   * the default TCP and TLS transports and the WebSocket listener. Default 10 ms.
   */
  readBudgetMs: int(READ_BUDGET_MS),
  /**
   * The per-turn read budget, in bytes: one connection hands on at most this much (plus
   * the chunk that crossed it) in one turn, however cheap it is to handle. 0 turns it
   * off (see readBudgetMs). Default 1 MiB.
   */
  readBudgetBytes: int(READ_BUDGET_BYTES),
  /**
   * Bytes one connection has read and not yet handled (frames waiting for the thread
   * pool to inflate or digest them), at most: past it reading pauses until the pipeline
   * has caught up (to half), and the peer's own TCP window slows it. Default 4 MiB.
   */
  maxUnhandledBytes: int(4 * 1024 * 1024, 1024),
  /**
   * Bytes one connection's compressed frames may inflate to per second: past it reading
   * pauses until the budget refills (one second's worth at most is saved up). 0: no
   * budget. Default 256 MiB (W2 with gzip inflates ~150 MB/s on one connection).
   */
  maxInflatedBytesPerSecond: int(256 * 1024 * 1024),
  /**
   * Largest frame accepted from a peer until its handshake (and, with Ed25519, its
   * proof) is done: a handshake is under 1 KiB. A larger one ends the connection
   * (FrameTooLargeError). Default 16 KiB.
   */
  untrustedMaxFrameBytes: int(16 * 1024, 1024),
  /**
   * Off-loop jobs (inflating a large body, digesting a large payload) this node runs on
   * Node's thread pool at once, shared by its connections in turn. Default 2 (of libuv's 4 threads).
   */
  maxOffLoopJobs: int(2, 1),
  /**
   * A waterfall is not relayed to a peer that already has this many unsent bytes
   * (stats.relaysSkipped counts it). A peer that cannot keep up then falls behind by
   * a bounded amount instead of by up to maxSendBufferBytes: copies held back longer
   * than the de-duplication cache remembers would be delivered twice. This node's own
   * messages are always sent (send() returns false to say a peer is behind).
   * Default 4 MiB.
   */
  maxRelayBacklogBytes: int(4 * 1024 * 1024),
  /**
   * Messages held for recv(), at most. Default 10,000. A user who only subscribes to
   * messages$ and never calls recv() still keeps at most this many. While a recv() waits
   * for more than maxQueue messages, the queue grows to that recv's quantity.
   */
  maxQueue: int(10_000, 1),
  /**
   * Payload bytes held for recv(), at most (the same policy applies). Default 64 MiB.
   * A single message larger than this is still queued alone under 'drop-oldest'.
   */
  maxQueueBytes: int(64 * 1024 * 1024, 1),
  /**
   * What happens to a message arriving at a full queue: 'drop-oldest' discards the oldest
   * queued message, 'drop-newest' does not queue the new one. Either way messages$ still
   * emits it and stats.queueDropped counts it. Default 'drop-oldest'.
   */
  queuePolicy: oneOf(['drop-oldest', 'drop-newest'], 'drop-oldest'),
  /** Replies waiting for a route, at most. Default 1,000. */
  maxPendingRequests: int(1_000, 1),
  /** A reply waiting for a route fails after this long. Default 30,000 ms. */
  requestTimeoutMs: int(30_000, 1),
  /**
   * rx2p-web topology: a node or browser tab no rx2p node has confirmed (told first-hand,
   * or second-hand with its age) for this long leaves the topology and the whisper
   * targets; each node re-tells its views every third of it. Default 30,000 ms.
   */
  webTopologyTimeoutMs: int(30_000, 30),
  /** Undecodable frames in a row before a peer is dropped. Default 8. */
  maxDecodeFailures: int(8),
  /** Errors kept for `status`, at most. Default 100. */
  maxErrors: int(100, 1),
};
