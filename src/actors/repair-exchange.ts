// Repair's exchange with each peer (see repair.ts for the protocol and its bounds): the
// summaries, the lists of ids, the wanted table, the answers within the byte budgets.
import { flags } from '../protocol/flags.js';
import type { PathfindingMessage } from '../protocol/message.js';
import {
  REPAIR_CAPABILITY, REPAIR_SUBFLAG, decodeHave, decodeSummary, decodeWant, encodeHave, encodeSummary, encodeWant,
  type Have, type HaveBucket, type Summary,
} from '../protocol/repair-wire.js';
import { MalformedControlError } from '../errors.js';
import type { Connection } from '../streams/connection.js';
import type { ResolvedOptions } from '../options.js';
import type { RepairStore } from './repair-store.js';
import { shortIdOf, WANT_INTERVALS, WantTable, type PeerRepair } from './repair-wants.js';
import type { RouterState } from './state.js';

export { shortIdOf };

/** Buckets per window: a summary is at most this many 16-byte entries. */
export const BUCKETS_PER_WINDOW = 32;
/** Messages younger than this (seconds) may still be in flight: their buckets are not compared. */
const SETTLE_SECONDS = 1;
/**
 * A broadcast dated this much before the node's horizon (its start, less catchUpSeconds)
 * is dropped unless asked for: history a peer repaired and flooded on does not reach a
 * node that did not ask for it. The slack allows for clocks a little behind this one.
 */
export const HORIZON_SLACK_SECONDS = 2;
/** What a short id is made of: the last characters of a base_58 id. */
const SHORT_ID_PATTERN = /^[1-9A-HJ-NP-Za-km-z]{8}$/;



/**
 * The exchange of one node with its repairing peers, made when the repair component
 * starts: it holds the actor's state from its construction on.
 */
export class RepairExchange {
  private readonly peers = new Map<Connection, PeerRepair>();
  private readonly wants: WantTable;
  /** Bytes the node may still send as repair (refilled at repairMaxBytesPerSecond, at most one second's worth). */
  private budget: number;
  private budgetAt = Number.NaN;
  /** Peers that asked for frames this node-wide interval, and how many asked in the last. */
  private readonly askers = new Set<PeerRepair>();
  private lastAskers = 0;
  private askersSince = Number.NaN;

  constructor(
    private readonly s: RouterState,
    private readonly options: ResolvedOptions,
    private readonly store: RepairStore,
    /** Unix time before which this node wants nothing. */
    private readonly horizon: number,
  ) {
    this.wants = new WantTable(options);
    this.budget = options.repairMaxBytesPerSecond;
  }

  /** A peer handshaken: repair with it if it named the capability (the dialler starts). */
  connected(conn: Connection): void {
    if (!conn.compression.includes(REPAIR_CAPABILITY)) return;
    const now = this.s.now();
    const peer: PeerRepair = {
      conn, lastSummaryAt: now, periodStart: now, requests: 0, bytes: 0, sent: 0, received: 0, sentBytes: 0,
      answered: new Set(), wanting: 0, lastDeliveryAt: -Infinity, barredUntil: -Infinity,
    };
    this.peers.set(conn, peer);
    if (conn.outgoing) this.sendSummary(peer);
  }

  /** A connection ended: its last repair event, and it is forgotten. */
  closed(conn: Connection): void {
    const peer = this.peers.get(conn);
    if (!peer) return;
    this.report(peer);
    this.peers.delete(conn);
  }

  /**
   * A whisper from a peer with the capability and rx2p's subflag: handled here, never
   * delivered (true). From any other peer the subflag is an ordinary user subflag.
   */
  onSubflag(msg: PathfindingMessage, conn: Connection | undefined): boolean {
    if (conn === undefined || msg.msgType !== flags.whisper) return false;
    const peer = this.peers.get(conn);
    if (peer === undefined) return false;
    this.onRepairMessage(peer, msg);
    return true;
  }

  /** Every sweep: wants expired, budgets per interval, the dialler's periodic summary, repair events. */
  tick(now: number): void {
    const o = this.options;
    this.wants.expire(now);
    for (const peer of this.peers.values()) {
      if (now - peer.periodStart >= o.repairIntervalMs) {
        peer.periodStart = now;
        peer.requests = 0;
        peer.bytes = 0;
        peer.answered.clear();
      }
      if (peer.conn.outgoing && now - peer.lastSummaryAt >= o.repairIntervalMs) this.sendSummary(peer);
      this.report(peer);
    }
    if (!(now - this.askersSince < o.repairIntervalMs)) {
      this.askersSince = now;
      this.lastAskers = this.askers.size;
      this.askers.clear();
    }
  }

  /** The node is closing. */
  stop(): void {
    this.peers.clear();
    this.wants.clear();
  }

  /** Whether a message was asked for (and is inside the window). */
  wanted(msg: PathfindingMessage, now: number): boolean {
    return this.wants.wanted(msg, now);
  }

  /** An admitted message: counted as repaired if this node had asked for it. */
  admitted(msg: PathfindingMessage, from: Connection): void {
    if (this.wants.take(msg) === undefined) return;
    this.s.stats.repairReceived++;
    const peer = this.peers.get(from);
    if (peer) {
      peer.received++;
      peer.lastDeliveryAt = this.s.now();
    }
  }


  // ---------------------------------------------------------------- the exchange

  private onRepairMessage(peer: PeerRepair, msg: PathfindingMessage): void {
    const o = this.options;
    if (++peer.requests > o.repairMaxRequests) {
      this.s.stats.repairRefused++;
      return;
    }
    const p = msg.payload;
    const kind = p[1]?.toString('latin1');
    try {
      switch (kind) {
        case 'sum': this.onSummary(peer, decodeSummary(packet(p, 2), 2 * BUCKETS_PER_WINDOW + 2)); break;
        case 'have': this.onHave(peer, p[2]?.toString('latin1') === 'ask', decodeHave(packet(p, 3), o.repairMaxIds)); break;
        case 'want': this.onWant(peer, decodeWant(packet(p, 2), o.repairMaxIds)); break;
        default: throw new MalformedControlError('repair message', `unknown kind ${JSON.stringify(kind?.slice(0, 16))}`);
      }
    } catch (err) {
      if (!(err instanceof MalformedControlError)) throw err;
      this.s.stats.repairRefused++;
      this.s.recordError(err, peer.conn.id);
    }
  }

  private sendSummary(peer: PeerRepair): void {
    const [lo, hi] = this.range(this.store.completeSince);
    const s: Summary = { horizon: this.horizon, completeSince: this.store.completeSince, bucketSeconds: this.store.bucketSeconds, buckets: [] };
    for (const d of this.store.digests()) if (d.index >= lo && d.index <= hi) s.buckets.push(d);
    peer.lastSummaryAt = this.s.now();
    this.send(peer, ['sum', encodeSummary(s)], true);
  }

  /** The buckets worth comparing: inside the window, older than SETTLE_SECONDS, held completely since `since`. */
  private range(since: number): [number, number] {
    const now = this.s.utc();
    const bs = this.store.bucketSeconds;
    // The oldest bucket is left out: it is partly outside the window, and the two
    // stores expire it at different moments.
    const lo = Math.max(Math.floor((now - this.options.repairWindowSeconds) / bs) + 1, Math.ceil(since / bs));
    const hi = Math.floor((now - SETTLE_SECONDS) / bs) - 1;
    return [lo, hi];
  }

  /** The earliest message time this node wants now. */
  private floor(): number {
    return Math.max(this.horizon, this.s.utc() - this.options.repairWindowSeconds);
  }

  private onSummary(peer: PeerRepair, s: Summary): void {
    const bs = this.store.bucketSeconds;
    if (s.bucketSeconds !== bs) return; // another window: not comparable, no repair
    const [lo, hi] = this.range(Math.max(this.store.completeSince, s.completeSince));
    const theirs = new Map(s.buckets.map((b) => [b.index, b]));
    const relevant = new Set<number>();
    for (let index = lo; index <= hi; index++) {
      const mine = this.store.digest(index);
      const their = theirs.get(index);
      const myCount = mine?.count ?? 0;
      const theirCount = their?.count ?? 0;
      if (myCount === theirCount && (mine?.x0 ?? 0) === (their?.x0 ?? 0) && (mine?.x1 ?? 0) === (their?.x1 ?? 0)) continue;
      const end = (index + 1) * bs;
      if ((myCount > 0 && end > s.horizon) || (theirCount > 0 && end > this.floor())) relevant.add(index);
    }
    if (relevant.size === 0) return;
    this.send(peer, ['have', 'ask', encodeHave({ horizon: this.horizon, bucketSeconds: bs, buckets: this.listIds(relevant, () => true) })]);
  }

  /**
   * This node's ids (and times) in the given buckets, at most repairMaxIds in all; a
   * bucket cut short is marked incomplete. One pass over the store.
   */
  private listIds(buckets: Set<number>, keep: (time: number) => boolean): HaveBucket[] {
    const max = this.options.repairMaxIds;
    const out = new Map<number, HaveBucket>();
    for (const index of [...buckets].sort((a, b) => a - b)) out.set(index, { index, complete: true, ids: [], times: [] });
    let total = 0;
    this.store.forEach((key, time) => {
      const b = out.get(this.store.bucketOf(time));
      if (b === undefined || !keep(time)) return;
      if (total >= max) {
        b.complete = false;
        return;
      }
      b.ids.push(key);
      b.times.push(time);
      total++;
    });
    return [...out.values()];
  }

  /**
   * A list of ids (an answer to a summary, or an offer). Each id must look like a short
   * id (base_58), carry a time inside the window (give or take a bucket and the clock
   * slack) and sit in the bucket of its time; others are refused and counted against the
   * peer. A list mostly refused bars the peer's lists for WANT_INTERVALS intervals and
   * drops what it made this node want.
   */
  private onHave(peer: PeerRepair, ask: boolean, h: Have): void {
    const bs = this.store.bucketSeconds;
    if (h.bucketSeconds !== bs) return;
    const o = this.options;
    const now = this.s.now();
    if (peer.barredUntil > now) {
      this.s.stats.repairRefused++;
      return;
    }
    const utc = this.s.utc();
    const latest = utc + HORIZON_SLACK_SECONDS;
    const earliest = utc - o.repairWindowSeconds - bs - HORIZON_SLACK_SECONDS;
    const floor = this.floor();
    const want: string[] = [];
    const offerBuckets = new Set<number>();
    const theirIds = new Set<string>();
    let total = 0;
    let refused = 0;
    for (const b of h.buckets) {
      for (let i = 0; i < b.ids.length; i++) {
        const id = b.ids[i]!;
        const time = b.times[i]!;
        total++;
        if (time > latest || time < earliest || Math.floor(time / bs) !== b.index || !SHORT_ID_PATTERN.test(id)) {
          refused++;
          continue;
        }
        theirIds.add(id);
        if (time >= floor && want.length < o.repairMaxIds && !this.store.has(id) && this.wants.mayWant(id, peer, now)) want.push(id);
      }
      if (ask && b.complete) offerBuckets.add(b.index);
    }
    if (refused > 0) {
      if (2 * refused > total) {
        peer.barredUntil = now + WANT_INTERVALS * this.wants.interval();
        this.wants.dropPeer(peer);
        // Counted (stats.repairRefused) and recorded where repair messages are read.
        throw new MalformedControlError('repair have', `${refused} of ${total} ids refused (not short ids, or dated outside the window)`);
      }
      this.s.stats.repairRefused++;
    }
    if (want.length > 0) this.want(peer, want);
    if (offerBuckets.size > 0) {
      const theirFloor = Math.max(h.horizon, this.s.utc() - o.repairWindowSeconds);
      const offer = this.listIdsExcept(offerBuckets, theirIds, theirFloor);
      if (offer.length > 0) this.send(peer, ['have', 'offer', encodeHave({ horizon: this.horizon, bucketSeconds: bs, buckets: offer })]);
    }
  }

  /** This node's ids in the given buckets that `except` lacks, from time `floor` on (at most repairMaxIds). */
  private listIdsExcept(buckets: Set<number>, except: Set<string>, floor: number): HaveBucket[] {
    const max = this.options.repairMaxIds;
    const out = new Map<number, HaveBucket>();
    let total = 0;
    this.store.forEach((key, time) => {
      if (total >= max || time < floor || except.has(key)) return;
      const index = this.store.bucketOf(time);
      if (!buckets.has(index)) return;
      let b = out.get(index);
      if (b === undefined) out.set(index, (b = { index, complete: false, ids: [], times: [] }));
      b.ids.push(key);
      b.times.push(time);
      total++;
    });
    return [...out.values()];
  }


  /**
   * Asks a peer for ids, within its share of the wanted table (an equal part for each
   * repairing peer), or beyond it while the table has free room. A peer that has not
   * delivered lately gets one interval to deliver (others WANT_INTERVALS); when the table
   * is full, entries of peers over their share make room, those of peers that do not
   * deliver first.
   */
  private want(peer: PeerRepair, ids: string[]): void {
    const asked = this.wants.reserve(peer, ids, this.peers.size, this.s.now());
    if (asked.length > 0) this.send(peer, ['want', encodeWant(asked)]);
  }


  /**
   * A request: each id is answered once per interval to a peer (repeats are skipped),
   * within the peer's repairMaxBytes and the node's repairMaxBytesPerSecond.
   */
  private onWant(peer: PeerRepair, ids: string[]): void {
    const o = this.options;
    const stats = this.s.stats;
    stats.repairRequests++;
    this.refill();
    // Each peer asking gets at most an equal part of the node's budget for the interval:
    // many peers asking cannot take it all before another's request comes.
    this.askers.add(peer);
    const fair = (o.repairMaxBytesPerSecond * o.repairIntervalMs) / 1000 / Math.max(1, this.lastAskers, this.askers.size);
    const cap = Math.min(o.repairMaxBytes, fair);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (peer.answered.has(id)) continue;
      if (this.budget <= 0) {
        stats.repairDeferred += ids.length - i;
        return;
      }
      const frame = this.store.get(id);
      if (frame === undefined) continue;
      const size = frame.length;
      if (peer.bytes + size > cap || size > this.budget) {
        stats.repairDeferred += ids.length - i;
        return;
      }
      peer.answered.add(id);
      peer.conn.write(frame);
      this.budget -= size;
      peer.bytes += size;
      peer.sent++;
      peer.sentBytes += size;
      stats.repairSent++;
      stats.repairBytes += size;
    }
  }

  /**
   * A repair whisper (not through sendTo: it is not the peer's lastSent, what py2p's resend repeats), within the peer's byte budget for the interval (repairMaxBytes counts
   * the exchange as well as the frames: a peer that sends summaries as fast as it may gets
   * no more answers than that). The dialler's own summary is always sent.
   */
  private send(peer: PeerRepair, packets: Array<string | Uint8Array>, always = false): void {
    const s = this.s;
    let size = 256;
    for (const p of packets) size += p.length;
    this.refill();
    if (!always && (peer.bytes + size > this.options.repairMaxBytes || size > this.budget)) {
      s.stats.repairDeferred++;
      return;
    }
    const msg = peer.conn.send(flags.whisper, [REPAIR_SUBFLAG, ...packets], s.host.id(), s.utc());
    s.stats.framesOut++;
    s.stats.repairControlBytes += msg.string.length;
    s.stats.repairControlFrames++;
    peer.bytes += msg.string.length;
    this.budget -= msg.string.length;
  }

  /** The node-wide budget, refilled for the time since the last refill (at most one second's worth held). */
  private refill(): void {
    const now = this.s.now();
    const rate = this.options.repairMaxBytesPerSecond;
    if (!Number.isNaN(this.budgetAt)) this.budget = Math.min(rate, this.budget + ((now - this.budgetAt) * rate) / 1000);
    this.budgetAt = now;
  }

  private report(peer: PeerRepair): void {
    if (peer.sent === 0 && peer.received === 0) return;
    if (peer.conn.id !== undefined) this.s.host.emit({ type: 'repair', peer: peer.conn.id, sent: peer.sent, received: peer.received, bytes: peer.sentBytes });
    peer.sent = peer.received = peer.sentBytes = 0;
  }
}

function packet(p: Buffer[], i: number): Buffer {
  const b = p[i];
  if (b === undefined) throw new MalformedControlError('repair message', `packet ${i} missing`);
  return b;
}
