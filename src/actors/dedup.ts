// De-duplication, as one policy: the one key a message is known by (keyOf, gossipsub's
// msgIdFn), the window a key is kept (seenTTL), the caches, the counters, and the
// admission rule every path asks (a peer's broadcast or waterfall, the user's
// waterfall(), a repaired frame), and this node's own broadcasts, seen by their sender.
//
// Validate, then remember: admit() with remember = false leaves a message unremembered
// until the caller's verification passed (admitVerified), so a forged copy that fails
// cannot shadow the genuine message arriving later.
//
// py2p 0.2's waterfall de-dup keys on the message id (SHA-384 of payload and time): the
// key here hashes the same bytes (SHA-256, cheaper), so it names the same messages; a
// py2p node's re-dated copies (its send() dates each peer's copy anew, and its relay is
// dated when it relays) are caught by their content (contentKey) within
// retimedDuplicateWindowSeconds and py2pCopyWindowSeconds.
import { flags } from '../protocol/flags.js';
import type { PathfindingMessage } from '../protocol/message.js';
import { MAX_ID_CHARS } from '../protocol/bounds.js';
import type { Connection } from '../streams/connection.js';
import type { ResolvedOptions } from '../options.js';
import { isRx2pPeer } from './capability.js';
import { SHORT_ID_BYTES } from './repair-store.js';
import type { RouterState } from './state.js';
import type { RouterStats } from './types.js';
import { WaterfallCache } from './waterfall-cache.js';

/** Payloads larger than this are not tracked for re-timed copies (their hash would cost more than they risk). */
const CONTENT_TRACK_LIMIT = 64 * 1024;

/** The de-duplication policy of one node: its key, its windows, its caches and counters. */
export class Dedup {
  /** Keys of messages seen (py2p's waterfalls: each entry shows the message's id), kept seenTTL seconds. */
  readonly ids: WaterfallCache;
  /** How long (seconds) a key is kept: an admitted message stays admissible for twice maxMessageAge (or the repair window). */
  readonly seenTTL: number;
  /** Content keys of recent broadcasts, to catch py2p's re-timed copies. */
  readonly contents: WaterfallCache;
  /** Contents of waterfalls admitted from py2p peers (their time is the relay's): py2pCopyWindowSeconds. */
  readonly py2pCopies: WaterfallCache;
  /** Short ids of messages read back from the data directory: seen before a restart, until `restoredUntil`. */
  private restored: Set<string> | undefined;
  private restoredUntil = 0;

  constructor(
    private readonly options: ResolvedOptions,
    /** The node's counters: duplicates, expired and retimedDuplicates are this policy's. */
    private readonly stats: RouterStats,
    /** Every delivered message has a proven sender: py2p's re-timed copies cannot come, and are not looked for. */
    private readonly sendersProven: boolean,
  ) {
    const o = options;
    const oldest = Math.max(o.maxMessageAgeSeconds, o.repair ? o.repairWindowSeconds : 0);
    this.seenTTL = o.maxMessageAgeSeconds + oldest;
    this.ids = new WaterfallCache(o.waterfallCacheSize, this.seenTTL);
    this.contents = new WaterfallCache(o.waterfallCacheSize, Math.max(o.retimedDuplicateWindowSeconds, o.py2pCopyWindowSeconds, 1));
    this.py2pCopies = new WaterfallCache(o.waterfallCacheSize, Math.max(o.py2pCopyWindowSeconds, 1));
  }

  /** The one key a message is de-duplicated by: a digest of what its id hashes (payload and time). */
  keyOf(msg: PathfindingMessage): string {
    return msg.dedupKey;
  }

  /** Remembers a message as seen (now, Unix seconds); false if it was already. */
  remember(msg: PathfindingMessage, now: number): boolean {
    if (!this.ids.add(this.keyOf(msg), now)) return false;
    this.ids.labelNewest(displayId(msg));
    return true;
  }

  /**
   * A broadcast this node sent, listed among the seen ids as py2p lists its own. It is
   * known as seen by its sender (ownBroadcast), never by a key lookup, so it is listed
   * under the py2p id's digest, which building its frame computed already: a second
   * digest per send (SHA-256 of the payload) cost the sender 10-15 % of its W1 rate.
   * That digest is 48 bytes where keyOf's are 32: it cannot stand for another message.
   */
  rememberOwn(msg: PathfindingMessage, now: number): void {
    this.ids.add(msg.idKey, now, msg.id);
  }

  /** Whether a message was seen (without remembering it). */
  seen(msg: PathfindingMessage): boolean {
    return this.ids.has(this.keyOf(msg));
  }

  /** Ids (short ids) read back from the data directory: duplicates until `until` (Unix seconds). */
  restore(shortIds: Set<string>, until: number): void {
    if (shortIds.size === 0) return;
    this.restored = shortIds;
    this.restoredUntil = until;
  }

  /** Whether a message was seen before a restart (read back from the data directory); counted as a duplicate. */
  seenBeforeRestart(msg: PathfindingMessage): boolean {
    if (this.restored === undefined || !this.restored.has(msg.wireIdTail(SHORT_ID_BYTES))) return false;
    this.stats.duplicates++;
    return true;
  }

  /**
   * False for a py2p re-timed copy of a message seen, counted; true otherwise. `fromPy2p`:
   * the message came from a py2p peer (its waterfall is its relay, dated when it relayed).
   */
  notACopy(msg: PathfindingMessage, time: number, fromPy2p: boolean): boolean {
    // py2p's send() dates its broadcast anew for each peer (and its resend too), so a
    // py2p peer's broadcast may be a copy of one that came another way, a second later.
    const waterfall = msg.msgType === flags.waterfall;
    if ((waterfall || fromPy2p) && !this.checkContent(msg, time, fromPy2p && waterfall)) {
      this.stats.retimedDuplicates++;
      return false;
    }
    // The original of a py2p copy already delivered (it came the longer way round).
    if (!fromPy2p && this.py2pCopies.size !== 0 && this.isOriginalOfCopy(msg, time)) {
      this.stats.retimedDuplicates++;
      return false;
    }
    return true;
  }

  /**
   * False for a waterfall that is a py2p re-timed copy of a message seen (see
   * retimedDuplicateWindowSeconds, and py2pCopyWindowSeconds for one from a py2p peer);
   * its content is remembered either way, and a py2p peer's admitted as a copy.
   */
  private checkContent(msg: PathfindingMessage, time: number, py2pRelay: boolean): boolean {
    const o = this.options;
    const window = py2pRelay ? Math.max(o.retimedDuplicateWindowSeconds, o.py2pCopyWindowSeconds) : o.retimedDuplicateWindowSeconds;
    if (window <= 0 || msg.payloadBytes > CONTENT_TRACK_LIMIT) return true;
    const seenAt = this.contents.putIfAbsent(msg.contentKey, time);
    if (seenAt !== undefined && Math.abs(time - seenAt) <= window) return false;
    if (py2pRelay) this.py2pCopies.putIfAbsent(msg.contentKey, time);
    return true;
  }

  /** True for a message dated at most py2pCopyWindowSeconds before a py2p copy of it that was delivered. */
  private isOriginalOfCopy(msg: PathfindingMessage, time: number): boolean {
    if (msg.payloadBytes > CONTENT_TRACK_LIMIT) return false;
    const copyAt = this.py2pCopies.get(msg.contentKey);
    return copyAt !== undefined && copyAt >= time && copyAt - time <= this.options.py2pCopyWindowSeconds;
  }

  /**
   * Remembers what an admitted broadcast says, so that re-timed copies of it are
   * caught. Nothing about the broadcast itself depends on it, so it is done after
   * the broadcast is delivered and relayed (a hash less before the user has it).
   */
  noteContent(msg: PathfindingMessage): void {
    // Where senders are proven the re-timed-copy check is off (admit): nothing to note.
    if (this.sendersProven || this.options.retimedDuplicateWindowSeconds <= 0 || msg.payloadBytes > CONTENT_TRACK_LIMIT) return;
    this.contents.putIfAbsent(msg.contentKey, msg.timeNumber);
  }

  /** Forgets keys and contents past their window (the housekeeping tick). */
  expire(utc: number): void {
    this.ids.expire(utc);
    this.contents.expire(utc);
    this.py2pCopies.expire(utc);
    if (this.restored !== undefined && utc > this.restoredUntil) this.restored = undefined;
  }

  /** Forgets everything (the node closed). */
  clear(): void {
    this.ids.clear();
    this.contents.clear();
    this.py2pCopies.clear();
    this.restored = undefined;
  }
}

/**
 * This node's own broadcast (or a forgery in its name), flooded back by a peer or given
 * to waterfall(): seen, as it was when it was sent (counted as a duplicate).
 */
export function ownBroadcast(s: RouterState, msg: PathfindingMessage): boolean {
  if (!msg.senderIs(s.bytesOf(s.host.id()))) return false;
  s.stats.duplicates++;
  return true;
}

/**
 * False for a message too old, dated too far ahead, already seen, or a py2p re-timed
 * copy of a message seen (each counted). An admitted message is remembered as seen,
 * unless `remember` is false (the caller remembers it once it is verified).
 */
export function admit(s: RouterState, msg: PathfindingMessage, from?: Connection, remember = true): boolean {
  const d = s.dedup;
  const now = s.utc();
  const time = msg.timeNumber;
  const o = s.host.options;
  // Too old, or dated further ahead than clocks plausibly drift: a message from the
  // future would otherwise outlive its key in the cache and could be replayed.
  if ((time < now - o.maxMessageAgeSeconds && !admittedOld(s, msg, now)) || time > now + o.maxMessageAgeSeconds) {
    s.stats.expired++;
    s.host.print(2, 'Waterfall expired');
    return false;
  }
  if (remember ? !d.remember(msg, now) : d.seen(msg)) {
    s.stats.duplicates++;
    s.host.print(3, 'Not rebroadcasting');
    return false;
  }
  // py2p's re-timed copies never come where senders are proven, and there a forger
  // could use this check to have a genuine message dropped as a copy of its forgery.
  if (s.sendersProven) return true;
  // A py2p peer's waterfall is its relay, dated when it relayed (py2pCopyWindowSeconds).
  return d.notACopy(msg, time, from !== undefined && o.py2pCopyWindowSeconds > 0 && !isRx2pPeer(from));
}

/**
 * admit(), then the components' verification (the authenticated protocol's signature
 * check) where there is one: validate, then remember. A copy that fails verification
 * never enters the seen-cache, so it cannot shadow the genuine message arriving later;
 * a copy of a message that passed is dropped as seen before any verification (one per
 * genuine message per node).
 */
export function admitVerified(s: RouterState, msg: PathfindingMessage, from: Connection | undefined): boolean {
  const verify = s.stages.verify;
  if (verify.length === 0) return admit(s, msg, from);
  if (!admit(s, msg, from, false)) return false;
  for (const check of verify) if (!check(s, msg, from)) return false;
  s.dedup.remember(msg, s.utc());
  return true;
}

/** Whether a component admits a message older than the age limit (a repair asked for). */
function admittedOld(s: RouterState, msg: PathfindingMessage, now: number): boolean {
  for (const old of s.stages.admitOld) if (old(s, msg, now)) return true;
  return false;
}

/**
 * The id a seen entry shows: the id packet as received, which is the id for any
 * well-formed message (and costs no SHA-384); one too long to be an id is replaced by
 * the id computed from payload and time, so that a peer cannot park large strings here.
 */
function displayId(msg: PathfindingMessage): string {
  const wire = msg.wireId;
  return wire.length <= MAX_ID_CHARS ? wire : msg.id;
}
