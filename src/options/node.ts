// Options of the node itself: its protocol and address, compression, its connections'
// upkeep (sweep, re-dials, keepalive, discovery) and what it runs on (transport,
// scheduler, clock). Part of the options table (src/options/table.ts, src/options.ts).
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { InvalidArgumentError } from '../errors.js';
import { compression as supportedCompression, getUTC } from '../protocol/compression.js';
import type { Protocol } from '../protocol/protocol.js';
import type { CertificatePair } from '../transport/certificates.js';
import type { Transport } from '../transport/transport.js';
import { bool, int, opt, alias } from './table.js';

/** The node: protocol, address, debug output, dialling, compression. */
export const nodeOptions = {
  /** The protocol (subnet + encryption). Default: mesh default_protocol, ('mesh', 'Plaintext'). */
  protocol: opt<Protocol>(),
  /** py2p's name for `protocol`. */
  prot: alias('protocol'),
  /** The [host, port] this node advertises, when it differs from the bound address. */
  outAddr: opt<[string, number]>(checkAddr),
  /** py2p's name for `outAddr`. */
  out_addr: alias('outAddr'),
  /** Debug verbosity: a line of level L prints when L < debugLevel. Default 0 (silent). */
  debugLevel: int(0),
  /** py2p's name for `debugLevel`. */
  debug_level: alias('debugLevel'),
  /** Connections this node opens by itself from peers lists (py2p max_outgoing). Default 4. */
  maxOutgoing: int(4), // mesh.py's max_outgoing
  /** Compression methods advertised, in order of preference. Default: all this build supports. [] turns compression off. */
  compression: opt<string[], string[]>(compressionOf),
  /**
   * A message whose payload is smaller than this goes uncompressed even to a peer that
   * negotiated compression: deflating a small message costs far more time (about
   * 20 µs for 300 bytes) than the few bytes it saves. py2p 0.2 reads such a body as it
   * is (its decompress fails and it parses the plaintext: `compression_fail`). A py2p
   * node itself compresses every message: 0 does the same, byte for byte. Default 1024.
   */
  compressMinBytes: int(1024),
  /**
   * A payload that looks incompressible (the entropy of a 4 KiB sample is 7.5 bits per
   * byte or more: random, encrypted or compressed data) goes uncompressed, as above.
   * Deflating 1 MiB of random bytes costs 20-45 ms and saves nothing. Default true.
   */
  skipIncompressible: bool(true),
  /**
   * Frames are compressed and decompressed with node:zlib: bodies at least this large
   * on its thread pool rather than on the event loop (order per connection is kept),
   * smaller ones on the loop (2-4x faster than pako from 1 KiB up). A smaller compressed
   * body is inflated on the loop up to 4x this many bytes of output, then again on the
   * thread pool (a 16 KiB zlib bomb inflates to 16 MiB: 50-95 ms on the loop with pako).
   * maxDecompressedBytes holds either way. 0: everything on the loop with pako, whose
   * output is byte for byte CPython's zlib (py2p's). Default 65,536.
   */
  asyncZlibMinBytes: int(64 * 1024),
};

/** The upkeep of connections: sweep, re-dials, keepalive, peer discovery. */
export const upkeepOptions = {
  /** Period of the housekeeping sweep (timeouts, expiry). Default 1,000 ms. */
  sweepIntervalMs: int(1_000, 1),
  /**
   * A peer this node dialled that is lost without this node meaning it (reset, closed by
   * the peer, a network partition noticed on write) is dialled again after this long,
   * the wait doubling after each failed attempt (at most 64x). 0 turns re-dialling off.
   * Peers dropped for cause or by disconnect() are not re-dialled. Default 1,000 ms.
   */
  reconnectIntervalMs: int(1_000),
  /**
   * TCP keepalive: after this long without traffic the kernel probes the peer, so a
   * peer that vanished (host down, a partition that never heals) is noticed without
   * this node writing to it, and dropped (and re-dialled, per reconnectIntervalMs).
   * py2p peers send nothing when idle, so the probe is TCP's own, not a message.
   * 0 turns it off. Default 60,000 ms.
   */
  keepAliveMs: int(60_000),
  /** Failed re-dials of one lost peer before it is forgotten. Default 10. */
  maxReconnectAttempts: int(10, 1),
  /**
   * A node with fewer than maxOutgoing peers asks one of them for its peers list after
   * this long, then after twice as long, and so on (at most 64x), until it has enough.
   * py2p asks only when it loses a peer, so a node that joined through a node that had
   * just joined itself stayed with one peer. 0 turns it off. Default 5,000 ms.
   */
  peerDiscoveryMs: int(5_000),
};

/** What the node runs on: certificates, transport, scheduler, clock, randomness, id salt. */
export const environmentOptions = {
  /** Certificate and key for the SSL protocol. Default: one self-signed pair per process. */
  tls: opt<CertificatePair>(),
  /**
   * What carries bytes between nodes (see src/transport/transport.ts). Default: TCP for
   * the Plaintext protocol, TLS for SSL, with keepAliveMs, handshakeTimeoutMs, tls and the read budget
   * from these options; a transport given here has its own settings for those.
   */
  transport: opt<Transport>(checkTransport),
  /** Scheduler for the sweep (tests may pass a virtual one). Default asyncScheduler. */
  scheduler: opt<SchedulerLike, SchedulerLike>((v) => v ?? asyncScheduler),
  /** Unix time in seconds, for message times and ages. Default getUTC (replays of recorded traffic pass their own). */
  clock: opt<() => number, () => number>((v) => v ?? getUTC),
  /**
   * Numbers in [0, 1) for the node's random choices (the order of the peers lists it
   * sends). Default Math.random; a simulation passes a seeded generator.
   */
  random: opt<() => number, () => number>(checkRandom),
  /** The salt of this node's id. Default the per-process user_salt (py2p's base.user_salt). */
  userSalt: opt<string | Uint8Array>(),
};

function checkAddr(addr: unknown): [string, number] | undefined {
  if (addr === undefined) return undefined;
  if (!Array.isArray(addr) || addr.length !== 2 || typeof addr[0] !== 'string' || !Number.isInteger(addr[1]) || addr[1] < 0 || addr[1] > 65535) {
    throw new InvalidArgumentError('option outAddr must be [host: string, port: 0..65535]');
  }
  return [addr[0], addr[1]];
}

function compressionOf(given: string[] | undefined): string[] {
  const methods = given ?? [...supportedCompression];
  if (!Array.isArray(methods) || methods.some((m) => typeof m !== 'string')) {
    throw new InvalidArgumentError('option compression must be a list of method names');
  }
  const unsupported = methods.filter((m) => !supportedCompression.includes(m));
  if (unsupported.length) {
    throw new InvalidArgumentError(`compression methods not supported by this build: ${unsupported.join(', ')} (supported: ${supportedCompression.join(', ')})`);
  }
  return [...new Set(methods)];
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
