// The synchronous zlib engine as the node owns it: src/protocol's SyncZlib (pako,
// states kept between calls), let go of once unused for a while, so that a node that
// compressed a few messages does not hold its ~350 KiB of states. The timer and the
// clock live here, outside the wire codec, which is given the engine as an argument.
import { compress as compressWith, decompress as decompressWith } from '../protocol/compression.js';
import { SyncZlib } from '../protocol/sync-zlib.js';
import type { DecompressOptions, ZlibEngine } from '../protocol/zlib-format.js';

/** How long the states are kept without use. */
export const IDLE_RELEASE_MS = 10_000;

/** A SyncZlib whose states are released after `idleMs` without use (an unref'd timer: it keeps no process alive). */
export class IdleReleasingZlib implements ZlibEngine {
  readonly #engine = new SyncZlib();
  readonly #idleMs: number;
  readonly #now: () => number;
  #lastUse = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(idleMs = IDLE_RELEASE_MS, now: () => number = Date.now) {
    this.#idleMs = idleMs;
    this.#now = now;
  }

  /** SyncZlib.deflate, noting the use. */
  deflate(data: Uint8Array): Buffer {
    this.#used();
    return this.#engine.deflate(data);
  }

  /** SyncZlib.inflate, noting the use. */
  inflate(data: Uint8Array, maxBytes: number, method: string): Buffer {
    this.#used();
    return this.#engine.inflate(data, maxBytes, method);
  }

  /** Lets go of the states now, and of the timer. */
  release(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#engine.release();
  }

  #used(): void {
    this.#lastUse = this.#now();
    if (this.#timer === undefined) this.#arm(this.#idleMs);
  }

  #arm(ms: number): void {
    const timer = setTimeout(() => this.#releaseIfIdle(), ms);
    (timer as { unref?: () => void }).unref?.(); // a browser's timers are numbers
    this.#timer = timer;
  }

  #releaseIfIdle(): void {
    const idle = this.#now() - this.#lastUse;
    if (idle < this.#idleMs) return this.#arm(this.#idleMs - idle);
    this.#timer = undefined;
    this.#engine.release();
  }
}

/** The process's engine for the synchronous paths that are given none (one set of states, released when idle). */
export const sharedZlib: IdleReleasingZlib = new IdleReleasingZlib();

/** Compresses like py2p's compress(): "gzip" gives a zlib stream at the default level (with the shared engine unless one is given). */
export function compress(data: Uint8Array, method: string, zlib: ZlibEngine = sharedZlib): Buffer {
  return compressWith(data, method, zlib);
}

/** Decompresses like py2p's decompress(), but stops as soon as the output exceeds maxBytes (with the shared engine unless one is given). */
export function decompress(data: Uint8Array, method: string, opts: DecompressOptions = {}): Buffer {
  return decompressWith(data, method, opts.zlib === undefined ? { ...opts, zlib: sharedZlib } : opts);
}
