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
import { REPAIR_CAPABILITY, REPAIR_SUBFLAG } from '../protocol/repair-wire.js';
import { DataDirError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import type { ComponentContext, RouterComponent } from './component.js';
import { RepairStore, SHORT_ID_BYTES } from './repair-store.js';
import { RepairLog, type LoggedMessage } from './repair-log.js';
import { BUCKETS_PER_WINDOW, HORIZON_SLACK_SECONDS, RepairExchange, shortIdOf } from './repair-exchange.js';
import type { RouterState } from './state.js';

export { REPAIR_CAPABILITY, REPAIR_SUBFLAG, shortIdOf };

/**
 * The repair component of the router actor (one per node): the store of broadcasts
 * (and its log on disk, with dataDir), and, once started, the exchange with each peer.
 */
export class Repair implements RouterComponent {
  readonly name = 'repair';
  readonly advertise = [REPAIR_CAPABILITY];
  readonly store: RepairStore;
  /** Unix time before which this node wants nothing: its start, less catchUpSeconds. */
  readonly horizon: number;
  /** With dataDir: the log on disk. */
  readonly log: RepairLog | undefined;
  /** Short ids read from the log: handed to the node's de-duplication when started. */
  private restored: Set<string> | undefined;
  private restoredUntil = 0;
  private loggedCompleteSince = 0;
  private lastSyncAt = Number.NaN;
  /** The exchange with peers, made when the component starts. */
  private exchange: RepairExchange | undefined;

  constructor(private readonly options: ResolvedOptions) {
    const o = options;
    this.store = new RepairStore(o.repairStoreMaxMessages, o.repairStoreMaxBytes, o.repairWindowSeconds,
      Math.max(1, Math.ceil(o.repairWindowSeconds / BUCKETS_PER_WINDOW)));
    this.horizon = o.clock() - o.catchUpSeconds;
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
      this.restored = seen;
      this.restoredUntil = now + o.repairWindowSeconds + HORIZON_SLACK_SECONDS;
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

  /** Registers repair's stages and its subflag; the ids read from the log go to the node's de-duplication. */
  start(ctx: ComponentContext): void {
    const x = (this.exchange = new RepairExchange(ctx.state, this.options, this.store, this.horizon));
    if (this.restored !== undefined) ctx.state.dedup.restore(this.restored, this.restoredUntil);
    this.restored = undefined;
    const on = ctx.on;
    on.peerConnected.push((_s, conn) => x.connected(conn));
    on.closed.push((_s, conn) => x.closed(conn));
    // History this node did not ask for (dated before its horizon) is dropped, as too old.
    on.accept.push((s, msg) => {
      if (msg.timeNumber >= this.horizon - HORIZON_SLACK_SECONDS || x.wanted(msg, s.utc())) return true;
      s.stats.expired++;
      return false;
    });
    on.admitOld.push((_s, msg, now) => x.wanted(msg, now));
    // An admitted broadcast: counted if asked for; stored, as the frame its relay used, if it was for the user.
    on.admitted.push((s, msg, from, frame) => {
      x.admitted(msg, from);
      const subflag = msg.subflag;
      if (subflag === flags.request || subflag === flags.response || subflag === flags.peers || subflag === flags.handshake) return;
      this.note(s, msg, frame ?? msg.relayPieces(flags.waterfall) ?? msg.relay(flags.waterfall, null));
    });
    on.sent.push((s, msg) => {
      if (msg.subflag !== flags.request) this.note(s, msg, msg.string);
    });
    on.tick.push((s, now) => {
      this.store.expire(s.utc());
      x.tick(now);
      if (this.log !== undefined) this.keepLog(s, now);
    });
    ctx.subflag(REPAIR_SUBFLAG, { handle: (_s, msg, conn) => x.onSubflag(msg, conn) });
  }

  /** The node is closing: the exchange and the store are emptied, the log closed. */
  stop(): void {
    this.exchange?.stop();
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
  private keepLog(s: RouterState, now: number): void {
    const log = this.log;
    if (log === undefined) return;
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
      this.logFailed(s, err);
    }
  }

  /** Rewrites the log as the store's messages (at most its bounds, inside the window). */
  private compact(log: RepairLog): void {
    const messages: LoggedMessage[] = [];
    this.store.forEachFrame((id, time, frame) => messages.push({ id, time, frame }));
    log.rewrite(messages, this.store.completeSince);
  }

  /** The disk failed: the node goes on without its data directory, and says so. */
  private logFailed(s: RouterState, err: unknown): void {
    const log = this.log;
    if (log === undefined) return;
    (this as { log: RepairLog | undefined }).log = undefined;
    try {
      log.close();
    } catch {
      // already failing
    }
    s.recordError(err instanceof DataDirError ? err : new DataDirError(`cannot write ${log.dir}: ${(err as Error).message}`, err));
  }

  // ---------------------------------------------------------------- the store

  /** Stores a broadcast this node sent or delivered, as the frame that carried it. */
  private note(s: RouterState, msg: PathfindingMessage, frame: Uint8Array | readonly Uint8Array[]): void {
    const id = msg.wireIdTail(SHORT_ID_BYTES);
    this.store.add(id, msg.timeNumber, frame);
    if (this.log !== undefined) {
      try {
        this.log.append(id, msg.timeNumber, frame);
      } catch (err) {
        this.logFailed(s, err);
      }
    }
  }
}
