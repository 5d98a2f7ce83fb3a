// Repair's wanted table: the ids this node asked peers for, each peer's share of it,
// and who delivers (see repair.ts for the rules).
import type { PathfindingMessage } from '../protocol/message.js';
import type { Connection } from '../streams/connection.js';
import type { ResolvedOptions } from '../options.js';
import { SHORT_ID_BYTES } from './repair-store.js';

/** Wanted ids are remembered this many intervals. */
export const WANT_INTERVALS = 4;

/** A repairing peer, as the exchange keeps it. */
export interface PeerRepair {
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

/** An id asked of a peer. */
export interface Want {
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

/** The ids this node wants (at most WANT_INTERVALS x repairMaxIds), each from one peer until its deadline. */
export class WantTable {
  private readonly wants = new Map<string, Want>();
  private readonly max: number;

  constructor(private readonly options: ResolvedOptions) {
    this.max = WANT_INTERVALS * options.repairMaxIds;
  }

  /** Whether a message was asked for (and is inside the window). */
  wanted(msg: PathfindingMessage, now: number): boolean {
    return this.wants.size > 0 && msg.timeNumber >= now - this.options.repairWindowSeconds && this.wants.has(shortIdOf(msg));
  }

  /** A message admitted: its entry, if it was wanted, which is dropped. */
  take(msg: PathfindingMessage): Want | undefined {
    if (this.wants.size === 0) return undefined;
    const id = shortIdOf(msg);
    const w = this.wants.get(id);
    if (w !== undefined) this.drop(id, w);
    return w;
  }

  /** Drops entries past their deadline, or whose peer is gone. */
  expire(now: number): void {
    if (this.wants.size > 0) for (const [id, w] of this.wants) if (w.deadline < now || w.from.conn.closed) this.drop(id, w);
  }

  /** Drops what a peer's offers made this node want. */
  dropPeer(peer: PeerRepair): void {
    for (const [id, w] of this.wants) if (w.from === peer) this.drop(id, w);
  }

  clear(): void {
    this.wants.clear();
  }

  /** The interval wants are counted in: the repair interval, or the tick if longer. */
  interval(): number {
    return Math.max(this.options.repairIntervalMs, this.options.sweepIntervalMs);
  }

  /** Whether a peer delivered something it was asked for lately (its wants are kept longer, and not taken over). */
  delivers(peer: PeerRepair, now: number): boolean {
    return now - peer.lastDeliveryAt <= WANT_INTERVALS * this.interval();
  }

  /**
   * Whether an id may be asked of this peer: not wanted yet, or wanted from another peer
   * that has not delivered lately (that entry is taken over).
   */
  mayWant(id: string, peer: PeerRepair, now: number): boolean {
    const w = this.wants.get(id);
    if (w === undefined) return true;
    if (w.from === peer || this.delivers(w.from, now)) return false;
    this.drop(id, w);
    return true;
  }

  /**
   * Enters the ids to ask a peer for, within its share of the table (an equal part for
   * each of `peers` repairing peers), or beyond it while the table has free room; returns
   * those entered. A peer that has not delivered lately gets one interval to deliver
   * (others WANT_INTERVALS); when the table is full, entries of peers over their share
   * make room, those of peers that do not deliver first.
   */
  reserve(peer: PeerRepair, ids: string[], peers: number, now: number): string[] {
    const deadline = now + (this.delivers(peer, now) ? WANT_INTERVALS : 1) * this.interval();
    const share = Math.max(1, Math.floor(this.max / Math.max(1, peers)));
    // Beyond its share while the table has free room; entries over a share are the first to make room.
    const room = Math.max(0, share - peer.wanting, this.max - this.wants.size);
    if (ids.length > room) ids = ids.slice(0, room);
    if (this.wants.size + ids.length > this.max) this.makeRoom(this.wants.size + ids.length - this.max, share, now);
    const asked: string[] = [];
    for (const id of ids) {
      if (this.wants.size >= this.max) break;
      this.wants.set(id, { deadline, from: peer });
      peer.wanting++;
      asked.push(id);
    }
    return asked;
  }

  /** Drops up to n wanted entries of peers over their share: first of those that do not deliver. */
  private makeRoom(n: number, share: number, now: number): void {
    for (const pass of [false, true]) {
      for (const [id, w] of this.wants) {
        if (n <= 0) return;
        if (w.from.wanting > share && (pass || !this.delivers(w.from, now))) {
          this.drop(id, w);
          n--;
        }
      }
    }
  }

  private drop(id: string, w: Want): void {
    this.wants.delete(id);
    w.from.wanting--;
  }
}
