import type { SchedulerLike } from 'rxjs';
import { asyncScheduler } from 'rxjs';
import { compression as supportedCompression, getUTC } from './protocol/compression.js';
import { defaultLimits } from './protocol/message.js';
import type { Protocol } from './protocol/protocol.js';
import type { CertificatePair } from './transport/certificates.js';
import type { Transport } from './transport/transport.js';
import { InvalidArgumentError } from './errors.js';

/**
 * Every option of a MeshSocket, with its default. The seed's own names (`prot`,
 * `out_addr`, `debug_level`) are accepted beside the TypeScript ones.
 */
export interface MeshOptions {
  /** The protocol (subnet + encryption). Default: mesh default_protocol, ('mesh', 'Plaintext'). */
  protocol?: Protocol;
  prot?: Protocol;
  /** The [host, port] this node advertises, when it differs from the bound address. */
  outAddr?: [string, number];
  out_addr?: [string, number];
  /** Debug verbosity: a line of level L prints when L < debugLevel. Default 0 (silent). */
  debugLevel?: number;
  debug_level?: number;
  /** Connections this node opens by itself from peers lists (py2p max_outgoing). Default 4. */
  maxOutgoing?: number;
  /** Compression methods advertised, in order of preference. Default: all this build supports. [] turns compression off. */
  compression?: string[];
  /**
   * A message whose payload is smaller than this goes uncompressed even to a peer that
   * negotiated compression: deflating a small message costs far more time (about
   * 20 µs for 300 bytes) than the few bytes it saves. py2p 0.2 reads such a body as it
   * is (its decompress fails and it parses the plaintext: `compression_fail`), but
   * a py2p node itself compresses every message, so the default, 0, does the same
   * and keeps the wire byte for byte py2p's. 1024 is a good value among rx2p nodes.
   */
  compressMinBytes?: number;
  /** Largest frame accepted, checked from its size header before allocation. Default 16 MiB. */
  maxFrameBytes?: number;
  /** Largest body a compressed frame may inflate to. Default 16 MiB. */
  maxDecompressedBytes?: number;
  /** Most packets in one message. Default 10,000. */
  maxPackets?: number;
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
  /** Unsent bytes to one peer, at most; a peer that does not read is dropped. Default 64 MiB. */
  maxSendBufferBytes?: number;
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
   * Repair of missed broadcasts among rx2p nodes (README, Repair): peers that both have it
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
  /** The salt of this node's id. Default the per-process user_salt (py2p's base.user_salt). */
  userSalt?: string | Uint8Array;
}

export interface ResolvedOptions {
  outAddr: [string, number] | undefined;
  debugLevel: number;
  maxOutgoing: number;
  compression: string[];
  compressMinBytes: number;
  maxFrameBytes: number;
  maxDecompressedBytes: number;
  maxPackets: number;
  handshakeTimeoutMs: number;
  frameTimeoutMs: number;
  maxAwaiting: number;
  maxConnections: number;
  maxPeersList: number;
  waterfallCacheSize: number;
  maxMessageAgeSeconds: number;
  retimedDuplicateWindowSeconds: number;
  maxSendBufferBytes: number;
  maxRelayBacklogBytes: number;
  maxQueue: number;
  maxQueueBytes: number;
  queuePolicy: 'drop-oldest' | 'drop-newest';
  maxPendingRequests: number;
  requestTimeoutMs: number;
  maxDecodeFailures: number;
  maxErrors: number;
  sweepIntervalMs: number;
  reconnectIntervalMs: number;
  keepAliveMs: number;
  maxReconnectAttempts: number;
  repair: boolean;
  repairWindowSeconds: number;
  repairStoreMaxMessages: number;
  repairStoreMaxBytes: number;
  repairIntervalMs: number;
  repairMaxIds: number;
  repairMaxRequests: number;
  repairMaxBytes: number;
  catchUpSeconds: number;
  tls: CertificatePair | undefined;
  transport: Transport | undefined;
  scheduler: SchedulerLike;
  clock: () => number;
  userSalt: string | Uint8Array | undefined;
}

export const defaultOptions = {
  debugLevel: 0,
  maxOutgoing: 4, // mesh.py's max_outgoing
  compressMinBytes: 0,
  maxFrameBytes: defaultLimits.maxFrameBytes,
  maxDecompressedBytes: defaultLimits.maxDecompressedBytes,
  maxPackets: defaultLimits.maxPackets,
  handshakeTimeoutMs: 10_000,
  frameTimeoutMs: 60_000,
  maxAwaiting: 64,
  maxConnections: 256,
  maxPeersList: 64,
  waterfallCacheSize: 100_000,
  maxMessageAgeSeconds: 60,
  retimedDuplicateWindowSeconds: 2,
  maxSendBufferBytes: 64 * 1024 * 1024,
  maxRelayBacklogBytes: 4 * 1024 * 1024,
  maxQueue: 10_000,
  maxQueueBytes: 64 * 1024 * 1024,
  queuePolicy: 'drop-oldest' as const,
  maxPendingRequests: 1_000,
  requestTimeoutMs: 30_000,
  maxDecodeFailures: 8,
  maxErrors: 100,
  sweepIntervalMs: 1_000,
  reconnectIntervalMs: 1_000,
  keepAliveMs: 60_000,
  maxReconnectAttempts: 10,
  repair: true,
  repairStoreMaxMessages: 10_000,
  repairStoreMaxBytes: 16 * 1024 * 1024,
  repairIntervalMs: 5_000,
  repairMaxIds: 4_096,
  repairMaxRequests: 16,
  repairMaxBytes: 4 * 1024 * 1024,
  catchUpSeconds: 0,
};

function count(name: string, value: number | undefined, fallback: number, min = 0): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || !Number.isInteger(v) || v < min) {
    throw new InvalidArgumentError(`option ${name} must be an integer >= ${min}, got ${String(value)}`);
  }
  return v;
}

function checkAddr(addr: unknown): [string, number] | undefined {
  if (addr === undefined) return undefined;
  if (!Array.isArray(addr) || addr.length !== 2 || typeof addr[0] !== 'string' || !Number.isInteger(addr[1]) || addr[1] < 0 || addr[1] > 65535) {
    throw new InvalidArgumentError('option outAddr must be [host: string, port: 0..65535]');
  }
  return [addr[0], addr[1]];
}

function checkTransport(t: unknown): Transport | undefined {
  if (t === undefined) return undefined;
  const ok = typeof t === 'object' && t !== null && typeof (t as Transport).listen === 'function' && typeof (t as Transport).dial === 'function';
  if (!ok) throw new InvalidArgumentError('option transport must have listen(host, port) and dial(host, port)');
  return t as Transport;
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
  return {
    outAddr: checkAddr(o.outAddr ?? o.out_addr),
    debugLevel: count('debugLevel', o.debugLevel ?? o.debug_level, d.debugLevel),
    maxOutgoing: count('maxOutgoing', o.maxOutgoing, d.maxOutgoing),
    compression: [...new Set(methods)],
    compressMinBytes: count('compressMinBytes', o.compressMinBytes, d.compressMinBytes),
    maxFrameBytes: count('maxFrameBytes', o.maxFrameBytes, d.maxFrameBytes, 64),
    maxDecompressedBytes: count('maxDecompressedBytes', o.maxDecompressedBytes, d.maxDecompressedBytes, 64),
    maxPackets: count('maxPackets', o.maxPackets, d.maxPackets, 5),
    handshakeTimeoutMs: count('handshakeTimeoutMs', o.handshakeTimeoutMs, d.handshakeTimeoutMs, 1),
    frameTimeoutMs: count('frameTimeoutMs', o.frameTimeoutMs, d.frameTimeoutMs, 1),
    maxAwaiting: count('maxAwaiting', o.maxAwaiting, d.maxAwaiting, 1),
    maxConnections: count('maxConnections', o.maxConnections, d.maxConnections, 1),
    maxPeersList: count('maxPeersList', o.maxPeersList, d.maxPeersList),
    waterfallCacheSize: count('waterfallCacheSize', o.waterfallCacheSize, d.waterfallCacheSize, 1),
    maxMessageAgeSeconds,
    retimedDuplicateWindowSeconds: count('retimedDuplicateWindowSeconds', o.retimedDuplicateWindowSeconds, d.retimedDuplicateWindowSeconds),
    maxSendBufferBytes: count('maxSendBufferBytes', o.maxSendBufferBytes, d.maxSendBufferBytes, 1024),
    maxRelayBacklogBytes: count('maxRelayBacklogBytes', o.maxRelayBacklogBytes, d.maxRelayBacklogBytes),
    maxQueue: count('maxQueue', o.maxQueue, d.maxQueue, 1),
    maxQueueBytes: count('maxQueueBytes', o.maxQueueBytes, d.maxQueueBytes, 1),
    queuePolicy: policy,
    maxPendingRequests: count('maxPendingRequests', o.maxPendingRequests, d.maxPendingRequests, 1),
    requestTimeoutMs: count('requestTimeoutMs', o.requestTimeoutMs, d.requestTimeoutMs, 1),
    maxDecodeFailures: count('maxDecodeFailures', o.maxDecodeFailures, d.maxDecodeFailures),
    maxErrors: count('maxErrors', o.maxErrors, d.maxErrors, 1),
    sweepIntervalMs: count('sweepIntervalMs', o.sweepIntervalMs, d.sweepIntervalMs, 1),
    reconnectIntervalMs: count('reconnectIntervalMs', o.reconnectIntervalMs, d.reconnectIntervalMs),
    keepAliveMs: count('keepAliveMs', o.keepAliveMs, d.keepAliveMs),
    maxReconnectAttempts: count('maxReconnectAttempts', o.maxReconnectAttempts, d.maxReconnectAttempts, 1),
    repair: o.repair ?? d.repair,
    repairWindowSeconds,
    repairStoreMaxMessages: count('repairStoreMaxMessages', o.repairStoreMaxMessages, d.repairStoreMaxMessages, 1),
    repairStoreMaxBytes: count('repairStoreMaxBytes', o.repairStoreMaxBytes, d.repairStoreMaxBytes, 1024),
    repairIntervalMs: count('repairIntervalMs', o.repairIntervalMs, d.repairIntervalMs, 1),
    repairMaxIds: count('repairMaxIds', o.repairMaxIds, d.repairMaxIds, 1),
    repairMaxRequests: count('repairMaxRequests', o.repairMaxRequests, d.repairMaxRequests, 1),
    repairMaxBytes: count('repairMaxBytes', o.repairMaxBytes, d.repairMaxBytes, 1),
    catchUpSeconds,
    tls: o.tls,
    transport: checkTransport(o.transport),
    scheduler: o.scheduler ?? asyncScheduler,
    clock: o.clock ?? getUTC,
    userSalt: o.userSalt,
  };
}
