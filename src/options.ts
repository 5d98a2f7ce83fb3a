import type { SchedulerLike } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import { compression as supportedCompression, getUTC } from './protocol/compression.js';
import { defaultLimits } from './protocol/message.js';
import { defaultJsonLimits } from './protocol/bounds.js';
import type { Protocol } from './protocol/protocol.js';
import type { CertificatePair } from './transport/certificates.js';
import type { Transport } from './transport/transport.js';
import { InvalidArgumentError } from './errors.js';
import { generateIdentity, loadIdentity, type Identity, type IdentityInput } from './trust/identity.js';
import { allowListIds, type AdmitPolicy, type AllowEntry } from './trust/admission.js';
import { networkKeyBytes } from './trust/network-key.js';
import { isAuthenticated } from './trust/protocol.js';
import { MAX_BATCH } from './trust/signed-message.js';
import { resolveWebSocketOptions, type ResolvedWebSocketOptions, type WebSocketOptions } from './transport/ws-options.js';

/**
 * Every option of a MeshSocket, with its default. The seed's own names (`prot`,
 * `out_addr`, `debug_level`) are accepted beside the TypeScript ones.
 */
export interface MeshOptions {
  /** The protocol (subnet + encryption). Default: mesh default_protocol, ('mesh', 'Plaintext'). */
  protocol?: Protocol;
  /** py2p's name for `protocol`. */
  prot?: Protocol;
  /** The [host, port] this node advertises, when it differs from the bound address. */
  outAddr?: [string, number];
  /** py2p's name for `outAddr`. */
  out_addr?: [string, number];
  /** Debug verbosity: a line of level L prints when L < debugLevel. Default 0 (silent). */
  debugLevel?: number;
  /** py2p's name for `debugLevel`. */
  debug_level?: number;
  /** Connections this node opens by itself from peers lists (py2p max_outgoing). Default 4. */
  maxOutgoing?: number;
  /** Compression methods advertised, in order of preference. Default: all this build supports. [] turns compression off. */
  compression?: string[];
  /**
   * A message whose payload is smaller than this goes uncompressed even to a peer that
   * negotiated compression: deflating a small message costs far more time (about
   * 20 µs for 300 bytes) than the few bytes it saves. py2p 0.2 reads such a body as it
   * is (its decompress fails and it parses the plaintext: `compression_fail`). A py2p
   * node itself compresses every message: 0 does the same, byte for byte. Default 1024.
   */
  compressMinBytes?: number;
  /**
   * A payload that looks incompressible (the entropy of a 4 KiB sample is 7.5 bits per
   * byte or more: random, encrypted or compressed data) goes uncompressed, as above.
   * Deflating 1 MiB of random bytes costs 20-45 ms and saves nothing. Default true.
   */
  skipIncompressible?: boolean;
  /**
   * Frames are compressed and decompressed with node:zlib: bodies at least this large
   * on its thread pool rather than on the event loop (order per connection is kept),
   * smaller ones on the loop (2-4x faster than pako from 1 KiB up). A smaller compressed
   * body is inflated on the loop up to 4x this many bytes of output, then again on the
   * thread pool (a 16 KiB zlib bomb inflates to 16 MiB: 50-95 ms on the loop with pako).
   * maxDecompressedBytes holds either way. 0: everything on the loop with pako, whose
   * output is byte for byte CPython's zlib (py2p's). Default 65,536.
   */
  asyncZlibMinBytes?: number;
  /** Largest frame accepted, checked from its size header before allocation. Default 16 MiB. */
  maxFrameBytes?: number;
  /** Largest body a compressed frame may inflate to. Default 16 MiB. */
  maxDecompressedBytes?: number;
  /** Most packets in one message. Default 10,000. */
  maxPackets?: number;
  /**
   * Longest time packet accepted, in characters, checked before it is decoded (base_58
   * decoding costs the square of the length: a 300 KB time packet took seconds). A
   * unix time is 6 characters. A longer one ends the connection (FieldTooLargeError).
   * Default 16.
   */
  maxTimeChars?: number;
  /**
   * Largest JSON text of a control message (handshake address and compression list,
   * peers list, response, renegotiation), checked before it is parsed. Default 256 KiB
   * (a peers list of ~2,000 entries).
   */
  maxJsonBytes?: number;
  /** Deepest nesting of such a JSON text, found by a linear scan before parsing (py2p's are 3 deep). Default 16. */
  maxJsonDepth?: number;
  /** A connection that has not handshaken by then is closed. Default 10,000 ms. */
  handshakeTimeoutMs?: number;
  /** A connection holding an unfinished frame this long is closed (py2p: 60 s). Default 60,000 ms. */
  frameTimeoutMs?: number;
  /** Connections accepted but not yet handshaken, at most (SSL: from the TCP accept, the TLS handshake included). Default 64. */
  maxAwaiting?: number;
  /** Connections of all kinds, at most. Default 256. */
  maxConnections?: number;
  /** Entries of one received peers list that are considered. Default 64. */
  maxPeersList?: number;
  /**
   * Message ids kept for de-duplication, at most (oldest evicted first). Default 100,000.
   * The content hashes kept for retimedDuplicateWindowSeconds have the same bound. Both
   * caches full cost about 200 bytes of heap per entry pair, the id label included (20 MB
   * by default, `npm run bench` W5); spec/hostile/flood.spec.ts measures a flood.
   */
  waterfallCacheSize?: number;
  /** Broadcasts and waterfalls older than this are dropped. Default 60 s. */
  maxMessageAgeSeconds?: number;
  /**
   * py2p 0.2 re-sends a waterfall with a new time, hence a new id. A waterfall whose
   * sender and payload match a message seen with a time this close is dropped as such
   * a copy. 0 turns the check off. Default 2 s. Only messages up to 64 KiB are tracked.
   */
  retimedDuplicateWindowSeconds?: number;
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
  py2pCopyWindowSeconds?: number;
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
  py2pRelayMaxAgeSeconds?: number;
  /** Unsent bytes to one peer, at most; a peer that does not read is dropped. Default 64 MiB. */
  maxSendBufferBytes?: number;
  /**
   * Bytes one connection has read and not yet handled (frames waiting for the thread
   * pool to inflate or digest them), at most: past it reading pauses until the pipeline
   * has caught up (to half), and the peer's own TCP window slows it. Default 4 MiB.
   */
  maxUnhandledBytes?: number;
  /**
   * Bytes one connection's compressed frames may inflate to per second: past it reading
   * pauses until the budget refills (one second's worth at most is saved up). 0: no
   * budget. Default 256 MiB (W2 with gzip inflates ~150 MB/s on one connection).
   */
  maxInflatedBytesPerSecond?: number;
  /**
   * Largest frame accepted from a peer until its handshake (and, with Ed25519, its
   * proof) is done: a handshake is under 1 KiB. A larger one ends the connection
   * (FrameTooLargeError). Default 16 KiB.
   */
  untrustedMaxFrameBytes?: number;
  /**
   * Off-loop jobs (inflating a large body, digesting a large payload) this node runs on
   * Node's thread pool at once, shared by its connections in turn. Default 2 (of libuv's 4 threads).
   */
  maxOffLoopJobs?: number;
  /**
   * A waterfall is not relayed to a peer that already has this many unsent bytes
   * (stats.relaysSkipped counts it). A peer that cannot keep up then falls behind by
   * a bounded amount instead of by up to maxSendBufferBytes: copies held back longer
   * than the de-duplication cache remembers would be delivered twice. This node's own
   * messages are always sent (send() returns false to say a peer is behind).
   * Default 4 MiB.
   */
  maxRelayBacklogBytes?: number;
  /**
   * Messages held for recv(), at most. Default 10,000. A user who only subscribes to
   * messages$ and never calls recv() still keeps at most this many. While a recv() waits
   * for more than maxQueue messages, the queue grows to that recv's quantity.
   */
  maxQueue?: number;
  /**
   * Payload bytes held for recv(), at most (the same policy applies). Default 64 MiB.
   * A single message larger than this is still queued alone under 'drop-oldest'.
   */
  maxQueueBytes?: number;
  /**
   * What happens to a message arriving at a full queue: 'drop-oldest' discards the oldest
   * queued message, 'drop-newest' does not queue the new one. Either way messages$ still
   * emits it and stats.queueDropped counts it. Default 'drop-oldest'.
   */
  queuePolicy?: 'drop-oldest' | 'drop-newest';
  /** Replies waiting for a route, at most. Default 1,000. */
  maxPendingRequests?: number;
  /** A reply waiting for a route fails after this long. Default 30,000 ms. */
  requestTimeoutMs?: number;
  /**
   * rx2p-web topology: a node or browser tab no rx2p node has confirmed (told first-hand,
   * or second-hand with its age) for this long leaves the topology and the whisper
   * targets; each node re-tells its views every third of it. Default 30,000 ms.
   */
  webTopologyTimeoutMs?: number;
  /** Undecodable frames in a row before a peer is dropped. Default 8. */
  maxDecodeFailures?: number;
  /** Errors kept for `status`, at most. Default 100. */
  maxErrors?: number;
  /** Period of the housekeeping sweep (timeouts, expiry). Default 1,000 ms. */
  sweepIntervalMs?: number;
  /**
   * A peer this node dialled that is lost without this node meaning it (reset, closed by
   * the peer, a network partition noticed on write) is dialled again after this long,
   * the wait doubling after each failed attempt (at most 64x). 0 turns re-dialling off.
   * Peers dropped for cause or by disconnect() are not re-dialled. Default 1,000 ms.
   */
  reconnectIntervalMs?: number;
  /**
   * TCP keepalive: after this long without traffic the kernel probes the peer, so a
   * peer that vanished (host down, a partition that never heals) is noticed without
   * this node writing to it, and dropped (and re-dialled, per reconnectIntervalMs).
   * py2p peers send nothing when idle, so the probe is TCP's own, not a message.
   * 0 turns it off. Default 60,000 ms.
   */
  keepAliveMs?: number;
  /** Failed re-dials of one lost peer before it is forgotten. Default 10. */
  maxReconnectAttempts?: number;
  /**
   * A node with fewer than maxOutgoing peers asks one of them for its peers list after
   * this long, then after twice as long, and so on (at most 64x), until it has enough.
   * py2p asks only when it loses a peer, so a node that joined through a node that had
   * just joined itself stayed with one peer. 0 turns it off. Default 5,000 ms.
   */
  peerDiscoveryMs?: number;
  /**
   * Repair of missed broadcasts among rx2p nodes (docs/repair.md): peers that both have it
   * on compare what they hold of the last repairWindowSeconds and send each other what the
   * other lacks. py2p peers are not affected. Default true.
   */
  repair?: boolean;
  /** Broadcasts are repaired (and kept for it) this long after their time. Default: maxMessageAgeSeconds. */
  repairWindowSeconds?: number;
  /** Broadcasts kept for repair, at most (oldest out first). Default 10,000. */
  repairStoreMaxMessages?: number;
  /** Frame bytes kept for repair, at most (oldest out first). Default 16 MiB. */
  repairStoreMaxBytes?: number;
  /** The dialling side of each connection compares stores this often; also the period of the bounds below. Default 5,000 ms. */
  repairIntervalMs?: number;
  /** Short ids in one repair message (8 bytes each, 12 with their time), at most. Default 4,096. */
  repairMaxIds?: number;
  /** Repair messages read from one peer per interval; more are ignored. Default 16. */
  repairMaxRequests?: number;
  /** Bytes of repair sent to one peer per interval (frames and the exchange), at most (the rest waits). Default 4 MiB. */
  repairMaxBytes?: number;
  /**
   * A (re)started node asks its peers for the broadcasts of the last catchUpSeconds before
   * it started (at most repairWindowSeconds). Default 0: a new node gets no history.
   */
  catchUpSeconds?: number;
  /**
   * Repair bytes this node sends per second, across all its peers (frames and the
   * exchange), at most; what does not fit waits. Default 2 MiB/s.
   */
  repairMaxBytesPerSecond?: number;
  /**
   * A directory where the node keeps its recent-message store and the ids its user has
   * seen (docs/persistence.md), so that a restart delivers nothing twice and, with
   * catch-up, what was missed. Created if missing. Default: none (nothing on disk).
   */
  dataDir?: string;
  /**
   * With dataDir: the log is synced to the disk (fsync) this often. Every record reaches
   * the operating system when it is written; a machine crash loses at most this interval.
   * Default 1,000 ms.
   */
  dataFlushIntervalMs?: number;
  /** Certificate and key for the SSL protocol. Default: one self-signed pair per process. */
  tls?: CertificatePair;
  /**
   * What carries bytes between nodes (see src/transport/transport.ts). Default: TCP for
   * the Plaintext protocol, TLS for SSL, with keepAliveMs, handshakeTimeoutMs and tls
   * from these options; a transport given here has its own settings for those.
   */
  transport?: Transport;
  /** Scheduler for the sweep (tests may pass a virtual one). Default asyncScheduler. */
  scheduler?: SchedulerLike;
  /** Unix time in seconds, for message times and ages. Default getUTC (replays of recorded traffic pass their own). */
  clock?: () => number;
  /**
   * Numbers in [0, 1) for the node's random choices (the order of the peers lists it
   * sends). Default Math.random; a simulation passes a seeded generator.
   */
  random?: () => number;
  /** The salt of this node's id. Default the per-process user_salt (py2p's base.user_salt). */
  userSalt?: string | Uint8Array;
  /**
   * Authenticated protocol (encryption 'Ed25519'): this node's Ed25519 private key (a
   * KeyObject, or PEM / PKCS#8 DER); its node id is base_58(SHA-384(public key)).
   * Default: a new key per socket (a new id each run; the command's --identity keeps one).
   */
  identity?: IdentityInput;
  /**
   * Authenticated protocol: the peers admitted, as node ids or public keys (PEM,
   * KeyObject, 32 raw bytes). Default: any peer that proves its key (and `admit` allows).
   */
  allow?: Iterable<AllowEntry>;
  /** Authenticated protocol: a custom admission policy, asked about each peer whose proof verified. */
  admit?: AdmitPolicy;
  /**
   * Authenticated protocol: a secret shared by the members: 32 random bytes, or their
   * 64 hex digits (a passphrase is refused: see trust/network-key.ts). The acceptor's
   * proof carries an HMAC of its transcript under it, then the dialler's: a node
   * without it cannot join.
   */
  networkKey?: string | Uint8Array;
  /**
   * Authenticated protocol: a peer that passes this node more than this many
   * messages failing signature verification (or naming another sender on a direct
   * message) is dropped. An honest peer relays nothing it has not verified. Default 3.
   */
  maxBadSignatures?: number;
  /** Authenticated protocol: public keys of message origins kept ready for verification, at most. Default 4,096. */
  senderKeyCacheSize?: number;
  /**
   * Authenticated protocol: signed batches whose signature was verified, kept (with the
   * nodes of their Merkle trees met so far, at most 2 x signatureBatch each) so that
   * their other messages cost no verification. Default 256.
   */
  verifiedBatchCacheSize?: number;
  /**
   * Authenticated protocol: the broadcasts send() is given in one tick are signed
   * together, at most this many under one signature (a Merkle tree; each message
   * carries its path, 32 bytes per doubling): a receiver verifies one signature per
   * batch instead of one per message. 1 signs each message alone. At most 256. Default 32.
   */
  signatureBatch?: number;
  /**
   * Authenticated protocol, with an allow-list: a broadcast or waterfall whose origin is
   * not on the list is dropped (counted in stats.unadmittedOrigins), whoever relayed
   * it. False delivers messages of any origin whose signature verifies. Without an
   * allow-list there is nothing to check. Default true.
   */
  admitOrigins?: boolean;
  /** A WebSocket listener beside the TCP one (browsers join through it). Default: none. See WebSocketOptions. */
  webSocket?: WebSocketOptions;
}

export interface ResolvedOptions {
  outAddr: [string, number] | undefined;
  debugLevel: number;
  maxOutgoing: number;
  compression: string[];
  compressMinBytes: number;
  skipIncompressible: boolean;
  asyncZlibMinBytes: number;
  maxFrameBytes: number;
  maxDecompressedBytes: number;
  maxPackets: number;
  maxTimeChars: number;
  maxJsonBytes: number;
  maxJsonDepth: number;
  handshakeTimeoutMs: number;
  frameTimeoutMs: number;
  maxAwaiting: number;
  maxConnections: number;
  maxPeersList: number;
  waterfallCacheSize: number;
  maxMessageAgeSeconds: number;
  retimedDuplicateWindowSeconds: number;
  py2pCopyWindowSeconds: number;
  py2pRelayMaxAgeSeconds: number;
  maxSendBufferBytes: number;
  maxUnhandledBytes: number;
  maxInflatedBytesPerSecond: number;
  untrustedMaxFrameBytes: number;
  maxOffLoopJobs: number;
  maxRelayBacklogBytes: number;
  maxQueue: number;
  maxQueueBytes: number;
  queuePolicy: 'drop-oldest' | 'drop-newest';
  maxPendingRequests: number;
  requestTimeoutMs: number;
  webTopologyTimeoutMs: number;
  maxDecodeFailures: number;
  maxErrors: number;
  sweepIntervalMs: number;
  reconnectIntervalMs: number;
  keepAliveMs: number;
  maxReconnectAttempts: number;
  peerDiscoveryMs: number;
  repair: boolean;
  repairWindowSeconds: number;
  repairStoreMaxMessages: number;
  repairStoreMaxBytes: number;
  repairIntervalMs: number;
  repairMaxIds: number;
  repairMaxRequests: number;
  repairMaxBytes: number;
  catchUpSeconds: number;
  repairMaxBytesPerSecond: number;
  dataDir: string | undefined;
  dataFlushIntervalMs: number;
  tls: CertificatePair | undefined;
  transport: Transport | undefined;
  scheduler: SchedulerLike;
  clock: () => number;
  random: () => number;
  userSalt: string | Uint8Array | undefined;
  /** The node key: given, or generated for an authenticated protocol; undefined otherwise. */
  identity: Identity | undefined;
  allow: ReadonlySet<string> | undefined;
  admit: AdmitPolicy | undefined;
  networkKey: Buffer | undefined;
  maxBadSignatures: number;
  senderKeyCacheSize: number;
  verifiedBatchCacheSize: number;
  signatureBatch: number;
  /** True when allow is set and admitOrigins is not false. */
  admitOrigins: boolean;
  webSocket: ResolvedWebSocketOptions | undefined;
}

/** The default of every option that has a fixed one (docs/options.md lists them all). */
export const defaultOptions = {
  debugLevel: 0,
  maxOutgoing: 4, // mesh.py's max_outgoing
  compressMinBytes: 1024,
  skipIncompressible: true,
  asyncZlibMinBytes: 64 * 1024,
  maxFrameBytes: defaultLimits.maxFrameBytes,
  maxDecompressedBytes: defaultLimits.maxDecompressedBytes,
  maxPackets: defaultLimits.maxPackets,
  maxTimeChars: 16,
  maxJsonBytes: defaultJsonLimits.maxJsonBytes,
  maxJsonDepth: defaultJsonLimits.maxJsonDepth,
  handshakeTimeoutMs: 10_000,
  frameTimeoutMs: 60_000,
  maxAwaiting: 64,
  maxConnections: 256,
  maxPeersList: 64,
  waterfallCacheSize: 100_000,
  maxMessageAgeSeconds: 60,
  retimedDuplicateWindowSeconds: 2,
  py2pCopyWindowSeconds: 30,
  py2pRelayMaxAgeSeconds: 0,
  maxSendBufferBytes: 64 * 1024 * 1024,
  maxUnhandledBytes: 4 * 1024 * 1024,
  maxInflatedBytesPerSecond: 256 * 1024 * 1024,
  untrustedMaxFrameBytes: 16 * 1024,
  maxOffLoopJobs: 2,
  maxRelayBacklogBytes: 4 * 1024 * 1024,
  maxQueue: 10_000,
  maxQueueBytes: 64 * 1024 * 1024,
  queuePolicy: 'drop-oldest' as const,
  maxPendingRequests: 1_000,
  requestTimeoutMs: 30_000,
  webTopologyTimeoutMs: 30_000,
  maxDecodeFailures: 8,
  maxErrors: 100,
  sweepIntervalMs: 1_000,
  reconnectIntervalMs: 1_000,
  keepAliveMs: 60_000,
  maxReconnectAttempts: 10,
  maxBadSignatures: 3,
  senderKeyCacheSize: 4_096,
  verifiedBatchCacheSize: 256,
  signatureBatch: 32,
  peerDiscoveryMs: 5_000,
  repair: true,
  repairStoreMaxMessages: 10_000,
  repairStoreMaxBytes: 16 * 1024 * 1024,
  repairIntervalMs: 5_000,
  repairMaxIds: 4_096,
  repairMaxRequests: 16,
  repairMaxBytes: 4 * 1024 * 1024,
  catchUpSeconds: 0,
  repairMaxBytesPerSecond: 2 * 1024 * 1024,
  dataFlushIntervalMs: 1_000,
};

function networkKeyOf(key: string | Uint8Array | undefined): Buffer | undefined {
  if (key === undefined) return undefined;
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) throw new InvalidArgumentError('option networkKey must be a string or bytes');
  return networkKeyBytes(key);
}

function dataDirOf(dir: string | undefined): string | undefined {
  if (dir !== undefined && (typeof dir !== 'string' || dir === '')) throw new InvalidArgumentError('option dataDir must be a directory name');
  return dir;
}

function count(name: string, value: number | undefined, fallback: number, min = 0): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || !Number.isInteger(v) || v < min) {
    throw new InvalidArgumentError(`option ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return v;
}

function flag(name: string, value: boolean | undefined, fallback: boolean): boolean {
  const v = value ?? fallback;
  if (typeof v !== 'boolean') throw new InvalidArgumentError(`option ${name} must be true or false, got ${String(value)}`);
  return v;
}

function checkAddr(addr: unknown): [string, number] | undefined {
  if (addr === undefined) return undefined;
  if (!Array.isArray(addr) || addr.length !== 2 || typeof addr[0] !== 'string' || !Number.isInteger(addr[1]) || addr[1] < 0 || addr[1] > 65535) {
    throw new InvalidArgumentError('option outAddr must be [host: string, port: 0..65535]');
  }
  return [addr[0], addr[1]];
}

function batchSize(n: number | undefined, fallback: number): number {
  const v = count('signatureBatch', n, fallback, 1);
  if (v > MAX_BATCH) throw new InvalidArgumentError(`option signatureBatch must be at most ${MAX_BATCH}, got ${v}`);
  return v;
}

function checkAdmit(admit: AdmitPolicy | undefined): AdmitPolicy | undefined {
  if (admit !== undefined && typeof admit !== 'function') throw new InvalidArgumentError('option admit must be a function');
  return admit;
}

function checkTransport(t: unknown): Transport | undefined {
  if (t === undefined) return undefined;
  const ok = typeof t === 'object' && t !== null && typeof (t as Transport).listen === 'function' && typeof (t as Transport).dial === 'function';
  if (!ok) throw new InvalidArgumentError('option transport must have listen(host, port) and dial(host, port)');
  return t as Transport;
}

function checkRandom(random: unknown): () => number {
  if (random === undefined) return Math.random;
  if (typeof random !== 'function') throw new InvalidArgumentError('option random must be a function returning numbers in [0, 1)');
  return random as () => number;
}

export function resolveOptions(o: MeshOptions = {}): ResolvedOptions {
  const d = defaultOptions;
  const methods = o.compression ?? [...supportedCompression];
  if (!Array.isArray(methods) || methods.some((m) => typeof m !== 'string')) {
    throw new InvalidArgumentError('option compression must be a list of method names');
  }
  const unsupported = methods.filter((m) => !supportedCompression.includes(m));
  if (unsupported.length) {
    throw new InvalidArgumentError(`compression methods not supported by this build: ${unsupported.join(', ')} (supported: ${supportedCompression.join(', ')})`);
  }
  const maxMessageAgeSeconds = count('maxMessageAgeSeconds', o.maxMessageAgeSeconds, d.maxMessageAgeSeconds, 1);
  const repairWindowSeconds = count('repairWindowSeconds', o.repairWindowSeconds, maxMessageAgeSeconds, 1);
  // Times travel as uint32 seconds and a bucket's width as uint16: a day is plenty.
  if (repairWindowSeconds > 86_400) throw new InvalidArgumentError(`option repairWindowSeconds must be at most 86400, got ${repairWindowSeconds}`);
  const catchUpSeconds = count('catchUpSeconds', o.catchUpSeconds, d.catchUpSeconds);
  if (catchUpSeconds > repairWindowSeconds) throw new InvalidArgumentError(`option catchUpSeconds must be at most repairWindowSeconds (${repairWindowSeconds}), got ${catchUpSeconds}`);
  if (o.repair !== undefined && typeof o.repair !== 'boolean') throw new InvalidArgumentError('option repair must be true or false');
  const policy = o.queuePolicy ?? d.queuePolicy;
  if (policy !== 'drop-oldest' && policy !== 'drop-newest') throw new InvalidArgumentError(`option queuePolicy must be 'drop-oldest' or 'drop-newest'`);
  const resolved: Omit<ResolvedOptions, 'webSocket'> = {
    outAddr: checkAddr(o.outAddr ?? o.out_addr),
    debugLevel: count('debugLevel', o.debugLevel ?? o.debug_level, d.debugLevel),
    maxOutgoing: count('maxOutgoing', o.maxOutgoing, d.maxOutgoing),
    compression: [...new Set(methods)],
    compressMinBytes: count('compressMinBytes', o.compressMinBytes, d.compressMinBytes),
    skipIncompressible: flag('skipIncompressible', o.skipIncompressible, d.skipIncompressible),
    asyncZlibMinBytes: count('asyncZlibMinBytes', o.asyncZlibMinBytes, d.asyncZlibMinBytes),
    maxFrameBytes: count('maxFrameBytes', o.maxFrameBytes, d.maxFrameBytes, 64),
    maxDecompressedBytes: count('maxDecompressedBytes', o.maxDecompressedBytes, d.maxDecompressedBytes, 64),
    maxPackets: count('maxPackets', o.maxPackets, d.maxPackets, 5),
    maxTimeChars: count('maxTimeChars', o.maxTimeChars, d.maxTimeChars, 6),
    maxJsonBytes: count('maxJsonBytes', o.maxJsonBytes, d.maxJsonBytes, 1024),
    maxJsonDepth: count('maxJsonDepth', o.maxJsonDepth, d.maxJsonDepth, 3),
    handshakeTimeoutMs: count('handshakeTimeoutMs', o.handshakeTimeoutMs, d.handshakeTimeoutMs, 1),
    frameTimeoutMs: count('frameTimeoutMs', o.frameTimeoutMs, d.frameTimeoutMs, 1),
    maxAwaiting: count('maxAwaiting', o.maxAwaiting, d.maxAwaiting, 1),
    maxConnections: count('maxConnections', o.maxConnections, d.maxConnections, 1),
    maxPeersList: count('maxPeersList', o.maxPeersList, d.maxPeersList),
    waterfallCacheSize: count('waterfallCacheSize', o.waterfallCacheSize, d.waterfallCacheSize, 1),
    maxMessageAgeSeconds,
    retimedDuplicateWindowSeconds: count('retimedDuplicateWindowSeconds', o.retimedDuplicateWindowSeconds, d.retimedDuplicateWindowSeconds),
    py2pCopyWindowSeconds: count('py2pCopyWindowSeconds', o.py2pCopyWindowSeconds, d.py2pCopyWindowSeconds),
    py2pRelayMaxAgeSeconds: count('py2pRelayMaxAgeSeconds', o.py2pRelayMaxAgeSeconds, d.py2pRelayMaxAgeSeconds),
    maxSendBufferBytes: count('maxSendBufferBytes', o.maxSendBufferBytes, d.maxSendBufferBytes, 1024),
    maxUnhandledBytes: count('maxUnhandledBytes', o.maxUnhandledBytes, d.maxUnhandledBytes, 1024),
    maxInflatedBytesPerSecond: count('maxInflatedBytesPerSecond', o.maxInflatedBytesPerSecond, d.maxInflatedBytesPerSecond),
    untrustedMaxFrameBytes: count('untrustedMaxFrameBytes', o.untrustedMaxFrameBytes, d.untrustedMaxFrameBytes, 1024),
    maxOffLoopJobs: count('maxOffLoopJobs', o.maxOffLoopJobs, d.maxOffLoopJobs, 1),
    maxRelayBacklogBytes: count('maxRelayBacklogBytes', o.maxRelayBacklogBytes, d.maxRelayBacklogBytes),
    maxQueue: count('maxQueue', o.maxQueue, d.maxQueue, 1),
    maxQueueBytes: count('maxQueueBytes', o.maxQueueBytes, d.maxQueueBytes, 1),
    queuePolicy: policy,
    maxPendingRequests: count('maxPendingRequests', o.maxPendingRequests, d.maxPendingRequests, 1),
    requestTimeoutMs: count('requestTimeoutMs', o.requestTimeoutMs, d.requestTimeoutMs, 1),
    webTopologyTimeoutMs: count('webTopologyTimeoutMs', o.webTopologyTimeoutMs, d.webTopologyTimeoutMs, 30),
    maxDecodeFailures: count('maxDecodeFailures', o.maxDecodeFailures, d.maxDecodeFailures),
    maxErrors: count('maxErrors', o.maxErrors, d.maxErrors, 1),
    sweepIntervalMs: count('sweepIntervalMs', o.sweepIntervalMs, d.sweepIntervalMs, 1),
    reconnectIntervalMs: count('reconnectIntervalMs', o.reconnectIntervalMs, d.reconnectIntervalMs),
    keepAliveMs: count('keepAliveMs', o.keepAliveMs, d.keepAliveMs),
    maxReconnectAttempts: count('maxReconnectAttempts', o.maxReconnectAttempts, d.maxReconnectAttempts, 1),
    peerDiscoveryMs: count('peerDiscoveryMs', o.peerDiscoveryMs, d.peerDiscoveryMs),
    repair: o.repair ?? d.repair,
    repairWindowSeconds,
    repairStoreMaxMessages: count('repairStoreMaxMessages', o.repairStoreMaxMessages, d.repairStoreMaxMessages, 1),
    repairStoreMaxBytes: count('repairStoreMaxBytes', o.repairStoreMaxBytes, d.repairStoreMaxBytes, 1024),
    repairIntervalMs: count('repairIntervalMs', o.repairIntervalMs, d.repairIntervalMs, 1),
    repairMaxIds: count('repairMaxIds', o.repairMaxIds, d.repairMaxIds, 1),
    repairMaxRequests: count('repairMaxRequests', o.repairMaxRequests, d.repairMaxRequests, 1),
    repairMaxBytes: count('repairMaxBytes', o.repairMaxBytes, d.repairMaxBytes, 1),
    catchUpSeconds,
    repairMaxBytesPerSecond: count('repairMaxBytesPerSecond', o.repairMaxBytesPerSecond, d.repairMaxBytesPerSecond, 1024),
    dataDir: dataDirOf(o.dataDir),
    dataFlushIntervalMs: count('dataFlushIntervalMs', o.dataFlushIntervalMs, d.dataFlushIntervalMs, 1),
    tls: o.tls,
    transport: checkTransport(o.transport),
    scheduler: o.scheduler ?? asyncScheduler,
    clock: o.clock ?? getUTC,
    random: checkRandom(o.random),
    userSalt: o.userSalt,
    identity: o.identity !== undefined ? loadIdentity(o.identity) : ((o.protocol ?? o.prot) && isAuthenticated((o.protocol ?? o.prot)!) ? generateIdentity() : undefined),
    allow: o.allow === undefined ? undefined : allowListIds(o.allow),
    admit: checkAdmit(o.admit),
    networkKey: networkKeyOf(o.networkKey),
    maxBadSignatures: count('maxBadSignatures', o.maxBadSignatures, d.maxBadSignatures),
    senderKeyCacheSize: count('senderKeyCacheSize', o.senderKeyCacheSize, d.senderKeyCacheSize, 1),
    verifiedBatchCacheSize: count('verifiedBatchCacheSize', o.verifiedBatchCacheSize, d.verifiedBatchCacheSize, 1),
    signatureBatch: batchSize(o.signatureBatch, d.signatureBatch),
    admitOrigins: o.allow !== undefined && o.admitOrigins !== false,
  };
  return { ...resolved, webSocket: resolveWebSocketOptions(o.webSocket, resolved) };
}
