// The wire of the in-memory transport (src/transport/memory.ts): one direction of a
// connection (a Pipe: chunks in flight, latency, bandwidth, stalls, frame counting), and
// the network's errors. All timing on the network's scheduler.
import type { MemoryConnection } from './memory-connection.js';
import type { MemoryNetwork } from './memory.js';

/** An error as Node's sockets give them: a `code` (ECONNRESET…), not a MeshError, so the mesh treats it as the network's fault. */
export class MemoryNetError extends Error {
  constructor(
    /** The system-like code: ECONNREFUSED, ECONNRESET, ETIMEDOUT. */
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'MemoryNetError';
  }
}

/** What travels on a pipe: bytes, an orderly end (FIN) or a reset (RST). */
export type Chunk = Buffer | typeof FIN | typeof RST;
/** The orderly end of a direction (net.Socket.end()). */
export const FIN = Symbol('fin');
/** A reset (ECONNRESET at the other end). */
export const RST = Symbol('rst');

/** One direction of a connection: what is in flight from one end to the other, in order. */
export class Pipe {
  /** Chunks on the wire, with the time each arrives. */
  private readonly flight: Array<{ at: number; chunk: Chunk }> = [];
  private head = 0;
  /** While stalled by a partition: chunks written and not yet sent (they count as backlog). */
  private readonly held: Chunk[] = [];
  heldBytes = 0;
  /** When the last chunk written finishes going out (bandwidth), and when it arrives. */
  private busyUntil = 0;
  private lastArrival = 0;
  private unsent: Array<{ until: number; bytes: number }> = [];
  private unsentBytes = 0;
  private armed = false;
  // Frame accounting: the size header being read, and body bytes left of the current frame.
  private header = 0;
  private headerBytes = 0;
  private bodyLeft = 0;
  /** The head of the current frame's body, being gathered for net.onFrame. */
  private frameHead: Buffer | undefined;
  private headFill = 0;
  private bodySize = 0;

  constructor(readonly net: MemoryNetwork, readonly from: MemoryConnection, readonly to: MemoryConnection) {}

  get stalled(): boolean {
    return !this.net.reachable(this.from.localHost, this.to.localHost) && this.net.partitionMode === 'stall';
  }

  /** Bytes written and not yet out on the wire. */
  backlog(): number {
    const now = this.net.now();
    while (this.unsent.length && this.unsent[0]!.until <= now) this.unsentBytes -= this.unsent.shift()!.bytes;
    return this.unsentBytes + this.heldBytes;
  }

  /** When the backlog will be gone (unless stalled). */
  drainsAt(): number {
    return this.busyUntil;
  }

  send(chunk: Chunk): void {
    if (this.stalled) {
      this.held.push(chunk);
      if (typeof chunk !== 'symbol') this.heldBytes += chunk.length;
      return;
    }
    const now = this.net.now();
    let at = now;
    if (typeof chunk !== 'symbol') {
      this.count(chunk);
      const bw = this.net.bytesPerMs;
      if (Number.isFinite(bw)) {
        const start = Math.max(now, this.busyUntil);
        this.busyUntil = start + chunk.length / bw;
        this.unsent.push({ until: this.busyUntil, bytes: chunk.length });
        this.unsentBytes += chunk.length;
        at = this.busyUntil;
      }
    }
    // Whole milliseconds: fewer distinct instants for the scheduler; never before an earlier chunk.
    at = Math.max(Math.ceil(at + this.net.latency(this.from.localHost, this.to.localHost)), this.lastArrival);
    this.lastArrival = at;
    this.flight.push({ at, chunk });
    this.arm();
  }

  /** A partition healed: what was held goes out now. */
  resume(): void {
    if (this.stalled || this.held.length === 0) return;
    const held = this.held.splice(0);
    this.heldBytes = 0;
    for (const c of held) this.send(c);
  }

  /** Drops what is held and in flight (the connection is gone). */
  clear(): void {
    this.flight.length = 0;
    this.head = 0;
    this.held.length = 0;
    this.heldBytes = 0;
    this.unsent = [];
    this.unsentBytes = 0;
  }

  private arm(): void {
    if (this.armed || this.head >= this.flight.length) return;
    this.armed = true;
    const delay = Math.max(0, this.flight[this.head]!.at - this.net.now());
    this.net.scheduler.schedule(() => this.arrive(), delay);
  }

  private arrive(): void {
    this.armed = false;
    if (this.stalled) return; // resumed by heal(): the partition holds what is in flight too
    const now = this.net.now();
    while (this.head < this.flight.length && this.flight[this.head]!.at <= now) {
      const { chunk } = this.flight[this.head]!;
      this.flight[this.head++] = undefined as never;
      this.to.receive(chunk);
    }
    if (this.head === this.flight.length) {
      this.flight.length = 0;
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > this.flight.length) {
      this.flight.splice(0, this.head);
      this.head = 0;
    }
    this.arm();
  }

  /** After a heal: arrivals that were due while stalled happen now. */
  rearm(): void {
    if (this.stalled) return;
    this.resume();
    this.arm();
  }

  private count(chunk: Buffer): void {
    const c = this.net.counters;
    c.bytes += chunk.length;
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, n - i);
        const head = this.frameHead;
        if (head !== undefined) {
          const copy = Math.min(take, head.length - this.headFill);
          chunk.copy(head, this.headFill, i, i + copy);
          this.headFill += copy;
          if (this.headFill === head.length) {
            this.frameHead = undefined;
            this.net.onFrame!(head, this.bodySize);
          }
        }
        this.bodyLeft -= take;
        i += take;
        continue;
      }
      this.header = this.header * 256 + chunk[i++]!;
      if (++this.headerBytes === 4) {
        c.frames++;
        this.bodyLeft = this.bodySize = this.header;
        this.header = this.headerBytes = 0;
        if (this.net.onFrame !== undefined) {
          if (this.bodySize === 0) this.net.onFrame(Buffer.alloc(0), 0);
          else {
            this.frameHead = Buffer.allocUnsafe(Math.min(this.bodySize, this.net.frameHeadBytes));
            this.headFill = 0;
          }
        }
      }
    }
  }
}
