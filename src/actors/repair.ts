/**
 * Repair between rx2p nodes: a node that missed broadcasts (a reset connection, a
 * partition, a restart) gets them from a peer that has them, as their original frames.
 *
 * Who takes part. An rx2p node with repair on names REPAIR_CAPABILITY in its handshake's
 * compression list. py2p 0.2 intersects that list with the methods it knows, both to
 * pick a method and to decompress, so it never uses the name and sends nothing new; a
 * node repairs only with peers that named it. A py2p peer therefore sees one extra name
 * in a handshake and no other traffic.
 *
 * The exchange, per connection (whispers with subflag REPAIR_SUBFLAG, see repair-wire.ts):
 * 1. The node that dialled sends `sum` on connect and every repairIntervalMs: per time
 *    bucket of the window (repairWindowSeconds / 32, whole seconds), the count and XOR of
 *    its stored messages' short ids, with its horizon (nothing older is wanted) and the
 *    time since which its store is complete.
 * 2. The other compares with its own buckets (only those both stores hold completely,
 *    older than a second, inside the window) and answers `have ask` with its short ids
 *    (and times) in the buckets that differ and may matter to either side.
 * 3. The dialler asks (`want`) for the ids it lacks, and offers (`have offer`) the ids
 *    the other lacks; the other then asks for those it lacks.
 * 4. A `want` is answered with the stored frames, byte for byte, written like any other
 *    frame: the receiver de-duplicates, delivers and floods them as usual.
 *
 * Bounds, per connection and interval: repairMaxRequests control messages read (more
 * are ignored, stats.repairRefused), repairMaxIds ids per message, repairMaxBytes sent,
 * frames and answers together (what does not fit waits for the next interval), each id
 * answered once. Across all peers, repairMaxBytesPerSecond, of which each peer asking gets
 * an equal part. Ids this node wants are remembered (at most 4 x repairMaxIds, for 4
 * intervals, 1 for a peer that has not delivered lately), each peer owed an equal share of
 * that table; ids offered must look like short ids and be dated inside the window, or the
 * offer is refused (docs/persistence.md has the rules). A wanted message may be older than
 * maxMessageAgeSeconds if it is inside the window; flooding still drops old ones. A node
 * wants nothing dated before its horizon (its start, less catchUpSeconds), and drops such
 * broadcasts unless it asked for them.
 *
 * With dataDir, the store is also written to a log on disk (repair-log.ts) and read back
 * at start: the ids read are dropped as duplicates while a copy of them can still come.
 *
 * Why not a whisper to announce the capability: py2p 0.2 would ignore one (its handle_msg
 * queues only `broadcast` and `whisper` subflags), but an older rx2p node delivers unknown
 * subflags to its user; and an extra handshake packet would make py2p ignore the handshake
 * (it wants exactly five).
 */
import { flags } from '../protocol/flags.js';
import type { PathfindingMessage } from '../protocol/message.js';
import {
  REPAIR_CAPABILITY, REPAIR_SUBFLAG, decodeHave, decodeSummary, decodeWant, encodeHave, encodeSummary, encodeWant,
  type Have, type HaveBucket, type Summary,
} from '../protocol/repair-wire.js';
import { DataDirError, MalformedControlError } from '../errors.js';
import type { Connection } from '../streams/connection.js';
import type { ResolvedOptions } from '../options.js';
import { RepairStore, SHORT_ID_BYTES } from './repair-store.js';
import { RepairLog, type LoggedMessage } from './repair-log.js';
import type { RouterExtension, RouterState } from './state.js';

export { REPAIR_CAPABILITY, REPAIR_SUBFLAG };

/** Buckets per window: a summary is at most this many 16-byte entries. */
const BUCKETS_PER_WINDOW = 32;
/** Messages younger than this (seconds) may still be in flight: their buckets are not compared. */
const SETTLE_SECONDS = 1;
/** Wanted ids are remembered this many intervals. */
const WANT_INTERVALS = 4;
/**
 * A broadcast dated this much before the node's horizon (its start, less catchUpSeconds)
 * is dropped unless asked for: history a peer repaired and flooded on does not reach a
 * node that did not ask for it. The slack allows for clocks a little behind this one.
 */
const HORIZON_SLACK_SECONDS = 2;
/** What a short id is made of: the last characters of a base_58 id. */
const SHORT_ID_PATTERN = /^[1-9A-HJ-NP-Za-km-z]{8}$/;

interface PeerRepair {
  readonly conn: Connection;
  lastSummaryAt: number;
  periodStart: number;
  requests: number;
  bytes: number;
  /** Since the last repair event. */
  sent: number;
  received: number;
  sentBytes: number;
  /** Ids answered this interval: each is answered once per interval, however often asked. */
  answered: Set<string>;
  /** Entries of the wanted table this peer's offers made. */
  wanting: number;
  /** When (now()) this peer last delivered a message this node had asked for. */
  lastDeliveryAt: number;
  /** Until then (now()), this peer's offers are refused: it offered ids that do not check out. */
  barredUntil: number;
}

interface Want {
  deadline: number;
  from: PeerRepair;
}

/**
 * A message's short id: the last 8 characters of its id packet. Every node has them for
 * free (this node's own messages carry the id it computed; a relayed frame keeps the id
 * packet it came with). An id packet is not checked by py2p or rx2p (both recompute the id
 * from payload and time when they need it): a peer that forges one can make others file
 * its message under another message's short id, which can keep that message from being
 * repaired to them; it cannot make anything be delivered (repaired frames are admitted
 * like any other, on their content).
 */
export function shortIdOf(msg: PathfindingMessage): string {
  return msg.wireIdTail(SHORT_ID_BYTES);
}

/** The repair extension of the router actor (one per node; its hooks run inside the actor). */
export class Repair implements RouterExtension {
  readonly name = 'repair';
  readonly advertise = [REPAIR_CAPABILITY];
  readonly store: RepairStore;
  /** Unix time before which this node wants nothing: its start, less catchUpSeconds. */
  readonly horizon: number;
  private readonly peers = new Map<Connection, PeerRepair>();
  private readonly wants = new Map<string, Want>();
  private readonly maxWants: number;
  /** Bytes the node may still send as repair (refilled at repairMaxBytesPerSecond, at most one second's worth). */
  private budget: number;
  private budgetAt = Number.NaN;
  /** Peers that asked for frames this node-wide interval, and how many asked in the last. */
  private readonly askers = new Set<PeerRepair>();
  private lastAskers = 0;
  private askersSince = Number.NaN;
  /** With dataDir: the log on disk, and the ids read from it (dropped as duplicates while they can still come). */
  readonly log: RepairLog | undefined;
  private seenBefore: Set<string> | undefined;
  private seenBeforeUntil = 0;
  private loggedCompleteSince = 0;
  private lastSyncAt = Number.NaN;
  /** The actor's state, from the first hook on (hooks are only called from inside it). */
  private s!: RouterState;

  constructor(private readonly options: ResolvedOptions) {
    const o = options;
    this.store = new RepairStore(o.repairStoreMaxMessages, o.repairStoreMaxBytes, o.repairWindowSeconds,
      Math.max(1, Math.ceil(o.repairWindowSeconds / BUCKETS_PER_WINDOW)));
    this.horizon = o.clock() - o.catchUpSeconds;
    this.maxWants = WANT_INTERVALS * o.repairMaxIds;
    this.budget = o.repairMaxBytesPerSecond;
    if (o.dataDir !== undefined) this.log = this.openLog(o.dataDir);
  }

  /**
   * Reads the data directory's log into the store: the messages still inside the window
   * are stored again, and their ids are known as seen (a copy flooded or repaired later
   * is a duplicate).
   */
  private openLog(dir: string): RepairLog {
    const o = this.options;
    const log = RepairLog.open(dir, o.repairStoreMaxBytes);
    const now = o.clock();
    const seen = new Set<string>();
    for (const m of log.loaded) {
      if (m.time < now - o.repairWindowSeconds) continue;
      this.store.add(m.id, m.time, m.frame);
      seen.add(m.id);
    }
    log.loaded = [];
    if (log.loadedCompleteSince > this.store.completeSince) this.store.completeSince = log.loadedCompleteSince;
    this.loggedCompleteSince = this.store.completeSince;
    if (seen.size > 0) {
      this.seenBefore = seen;
      this.seenBeforeUntil = now + o.repairWindowSeconds + HORIZON_SLACK_SECONDS;
    }
    // What was dropped on reading (too old, over a bound) goes at once.
    try {
      this.compact(log);
    } catch (err) {
      log.close();
      throw new DataDirError(`cannot rewrite the log in ${dir}: ${(err as Error).message}`, err);
    }
    return log;
  }

  // ---------------------------------------------------------------- hooks

  /** A peer handshaken: repair with it if it named the capability (the dialler starts). */
  onPeerConnected(s: RouterState, conn: Connection): void {
    this.s = s;
    if (!conn.compression.includes(REPAIR_CAPABILITY)) return;
    const now = s.now();
    const peer: PeerRepair = {
      conn, lastSummaryAt: now, periodStart: now, requests: 0, bytes: 0, sent: 0, received: 0, sentBytes: 0,
      answered: new Set(), wanting: 0, lastDeliveryAt: -Infinity, barredUntil: -Infinity,
    };
    this.peers.set(conn, peer);
    if (conn.outgoing) this.sendSummary(peer);
  }

  onClosed(s: RouterState, conn: Connection): void {
    const peer = this.peers.get(conn);
    if (!peer) return;
    this.report(peer);
    this.peers.delete(conn);
  }

  /** History this node did not ask for (dated before its horizon) is dropped, as too old. */
  acceptBroadcast(s: RouterState, msg: PathfindingMessage): boolean {
    // Seen before a restart (read from the data directory): the user has it.
    if (this.seenBefore !== undefined && this.seenBefore.has(shortIdOf(msg))) {
      s.stats.duplicates++;
      return false;
    }
    if (msg.timeNumber >= this.horizon - HORIZON_SLACK_SECONDS || this.wanted(msg, s.utc())) return true;
    s.stats.expired++;
    return false;
  }

  admitOld(s: RouterState, msg: PathfindingMessage, now: number): boolean {
    return this.wanted(msg, now);
  }

  /** An admitted broadcast: counted if asked for; stored, as the frame relay() made, if it was for the user. */
  onAdmitted(s: RouterState, msg: PathfindingMessage, from: Connection | undefined): void {
    this.s = s;
    if (from !== undefined) this.admitted(msg, from);
    const subflag = msg.subflag;
    if (subflag === flags.request || subflag === flags.response || subflag === flags.peers || subflag === flags.handshake) return;
    const frame = s.relayedFor === msg && s.relayedFrame !== undefined
      ? s.relayedFrame
      : msg.relayPieces(flags.waterfall) ?? msg.relay(flags.waterfall, null);
    this.note(msg, frame);
  }

  onBroadcastSent(s: RouterState, msg: PathfindingMessage): void {
    if (msg.subflag === flags.request) return;
    this.note(msg, msg.string);
  }

  /**
   * A whisper from a peer with the capability and rx2p's subflag: handled here, never
   * delivered. From any other peer the subflag is an ordinary user subflag.
   */
  onSubflag(s: RouterState, msg: PathfindingMessage, conn: Connection | undefined): boolean {
    this.s = s;
    if (conn === undefined || msg.msgType !== flags.whisper || msg.subflag !== REPAIR_SUBFLAG) return false;
    const peer = this.peers.get(conn);
    if (peer === undefined) return false;
    this.onRepairMessage(peer, msg);
    return true;
  }

  /** Every sweep: expiry, budgets per interval, the dialler's periodic summary, repair events. */
  onTick(s: RouterState, now: number): void {
    this.s = s;
    const o = this.options;
    this.store.expire(s.utc());
    if (this.wants.size > 0) for (const [id, w] of this.wants) if (w.deadline < now || w.from.conn.closed) this.dropWant(id, w);
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
    if (this.seenBefore !== undefined && s.utc() > this.seenBeforeUntil) this.seenBefore = undefined;
    if (this.log !== undefined) this.keepLog(now);
  }

  onShutdown(): void {
    this.peers.clear();
    this.wants.clear();
    this.store.clear();
    if (this.log !== undefined) {
      try {
        this.log.close();
      } catch {
        // closing: nothing left to tell
      }
    }
  }

  // ---------------------------------------------------------------- the data directory

  /** Every tick: the store's completeSince noted, the log compacted when due, synced every dataFlushIntervalMs. */
  private keepLog(now: number): void {
    const log = this.log!;
    try {
      if (this.store.completeSince > this.loggedCompleteSince) {
        this.loggedCompleteSince = this.store.completeSince;
        log.appendCompleteSince(this.loggedCompleteSince);
      }
      if (log.wantsCompaction(this.store.size, this.store.bytes)) this.compact(log);
      if (!(now - this.lastSyncAt < this.options.dataFlushIntervalMs)) {
        this.lastSyncAt = now;
        log.sync();
      }
    } catch (err) {
      this.logFailed(err);
    }
  }

  /** Rewrites the log as the store's messages (at most its bounds, inside the window). */
  private compact(log: RepairLog): void {
    const messages: LoggedMessage[] = [];
    this.store.forEachFrame((id, time, frame) => messages.push({ id, time, frame }));
    log.rewrite(messages, this.store.completeSince);
  }

  /** The disk failed: the node goes on without its data directory, and says so. */
  private logFailed(err: unknown): void {
    const log = this.log;
    if (log === undefined) return;
    (this as { log: RepairLog | undefined }).log = undefined;
    try {
      log.close();
    } catch {
      // already failing
    }
    this.s.recordError(err instanceof DataDirError ? err : new DataDirError(`cannot write ${log.dir}: ${(err as Error).message}`, err));
  }

  // ---------------------------------------------------------------- the store

  /** Stores a broadcast this node sent or delivered, as the frame that carried it. */
  note(msg: PathfindingMessage, frame: Uint8Array | readonly Uint8Array[]): void {
    const id = shortIdOf(msg);
    this.store.add(id, msg.timeNumber, frame);
    if (this.log !== undefined) {
      try {
        this.log.append(id, msg.timeNumber, frame);
      } catch (err) {
        this.logFailed(err);
      }
    }
  }

  /** Whether a message was asked for (and is inside the window). */
  wanted(msg: PathfindingMessage, now: number): boolean {
    return this.wants.size > 0 && msg.timeNumber >= now - this.options.repairWindowSeconds && this.wants.has(shortIdOf(msg));
  }

  /** An admitted message: counted as repaired if this node had asked for it. */
  admitted(msg: PathfindingMessage, from: Connection): void {
    if (this.wants.size === 0) return;
    const id = shortIdOf(msg);
    const w = this.wants.get(id);
    if (w === undefined) return;
    this.dropWant(id, w);
    this.s.stats.repairReceived++;
    const peer = this.peers.get(from);
    if (peer) {
      peer.received++;
      peer.lastDeliveryAt = this.s.now();
    }
  }

  private dropWant(id: string, w: Want): void {
    this.wants.delete(id);
    w.from.wanting--;
  }

  /** Whether a peer delivered something it was asked for lately (its wants are kept longer, and not taken over). */
  private delivers(peer: PeerRepair, now: number): boolean {
    return now - peer.lastDeliveryAt <= WANT_INTERVALS * this.wantInterval();
  }

  private wantInterval(): number {
    return Math.max(this.options.repairIntervalMs, this.options.sweepIntervalMs);
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
        if (time >= floor && want.length < o.repairMaxIds && !this.store.has(id) && this.mayWant(id, peer, now)) want.push(id);
      }
      if (ask && b.complete) offerBuckets.add(b.index);
    }
    if (refused > 0) {
      if (2 * refused > total) {
        peer.barredUntil = now + WANT_INTERVALS * this.wantInterval();
        for (const [id, w] of this.wants) if (w.from === peer) this.dropWant(id, w);
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
   * Whether an id may be asked of this peer: not wanted yet, or wanted from another peer
   * that has not delivered lately (that entry is taken over).
   */
  private mayWant(id: string, peer: PeerRepair, now: number): boolean {
    const w = this.wants.get(id);
    if (w === undefined) return true;
    if (w.from === peer || this.delivers(w.from, now)) return false;
    this.dropWant(id, w);
    return true;
  }

  /**
   * Asks a peer for ids, within its share of the wanted table (an equal part for each
   * repairing peer), or beyond it while the table has free room. A peer that has not
   * delivered lately gets one interval to deliver (others WANT_INTERVALS); when the table
   * is full, entries of peers over their share make room, those of peers that do not
   * deliver first.
   */
  private want(peer: PeerRepair, ids: string[]): void {
    const now = this.s.now();
    const deadline = now + (this.delivers(peer, now) ? WANT_INTERVALS : 1) * this.wantInterval();
    const share = Math.max(1, Math.floor(this.maxWants / Math.max(1, this.peers.size)));
    // Beyond its share while the table has free room; entries over a share are the first to make room.
    const room = Math.max(0, share - peer.wanting, this.maxWants - this.wants.size);
    if (ids.length > room) ids = ids.slice(0, room);
    if (this.wants.size + ids.length > this.maxWants) this.makeRoom(this.wants.size + ids.length - this.maxWants, share, now);
    const asked: string[] = [];
    for (const id of ids) {
      if (this.wants.size >= this.maxWants) break;
      this.wants.set(id, { deadline, from: peer });
      peer.wanting++;
      asked.push(id);
    }
    if (asked.length > 0) this.send(peer, ['want', encodeWant(asked)]);
  }

  /** Drops up to n wanted entries of peers over their share: first of those that do not deliver. */
  private makeRoom(n: number, share: number, now: number): void {
    for (const pass of [false, true]) {
      for (const [id, w] of this.wants) {
        if (n <= 0) return;
        if (w.from.wanting > share && (pass || !this.delivers(w.from, now))) {
          this.dropWant(id, w);
          n--;
        }
      }
    }
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

  /** A repair whisper. Not through sendTo: it is not the peer's lastSent (what py2p's resend repeats). */
  /**
   * A repair whisper, within the peer's byte budget for the interval (repairMaxBytes counts
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
