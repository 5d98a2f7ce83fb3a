// Repair of missed broadcasts and the data directory (docs/repair.md,
// docs/persistence.md). Part of the options table (src/options/table.ts, src/options.ts).
import { InvalidArgumentError } from '../errors.js';
import { int, intOf, opt, type ResolvedSoFar } from './table.js';

/** Repair between rx2p peers, catch-up, and what is kept on disk. */
export const repairOptions = {
  /**
   * Repair of missed broadcasts among rx2p nodes (docs/repair.md): peers that both have it
   * on compare what they hold of the last repairWindowSeconds and send each other what the
   * other lacks. py2p peers are not affected. Default true.
   */
  repair: { ...opt<boolean, boolean>(repairFlag), default: true },
  /** Broadcasts are repaired (and kept for it) this long after their time. Default: maxMessageAgeSeconds. */
  repairWindowSeconds: intOf('maxMessageAgeSeconds', 1, 86_400), // times travel as uint32 seconds, a bucket's width as uint16: a day is plenty
  /** Broadcasts kept for repair, at most (oldest out first). Default 10,000. */
  repairStoreMaxMessages: int(10_000, 1),
  /** Frame bytes kept for repair, at most (oldest out first). Default 16 MiB. */
  repairStoreMaxBytes: int(16 * 1024 * 1024, 1024),
  /** The dialling side of each connection compares stores this often; also the period of the bounds below. Default 5,000 ms. */
  repairIntervalMs: int(5_000, 1),
  /** Short ids in one repair message (8 bytes each, 12 with their time), at most. Default 4,096. */
  repairMaxIds: int(4_096, 1),
  /** Repair messages read from one peer per interval; more are ignored. Default 16. */
  repairMaxRequests: int(16, 1),
  /** Bytes of repair sent to one peer per interval (frames and the exchange), at most (the rest waits). Default 4 MiB. */
  repairMaxBytes: int(4 * 1024 * 1024, 1),
  /**
   * A (re)started node asks its peers for the broadcasts of the last catchUpSeconds before
   * it started (at most repairWindowSeconds). Default 0: a new node gets no history.
   */
  catchUpSeconds: int(0, 0, undefined, atMostRepairWindow),
  /**
   * Repair bytes this node sends per second, across all its peers (frames and the
   * exchange), at most; what does not fit waits. Default 2 MiB/s.
   */
  repairMaxBytesPerSecond: int(2 * 1024 * 1024, 1024),
  /**
   * A directory where the node keeps its recent-message store and the ids its user has
   * seen (docs/persistence.md), so that a restart delivers nothing twice and, with
   * catch-up, what was missed. Created if missing. Default: none (nothing on disk).
   */
  dataDir: opt<string>(dataDirOf),
  /**
   * With dataDir: the log is synced to the disk (fsync) this often. Every record reaches
   * the operating system when it is written; a machine crash loses at most this interval.
   * Default 1,000 ms.
   */
  dataFlushIntervalMs: int(1_000, 1),
};

function repairFlag(value: boolean | undefined): boolean {
  if (value !== undefined && typeof value !== 'boolean') throw new InvalidArgumentError('option repair must be true or false');
  return value ?? true;
}

function atMostRepairWindow(catchUpSeconds: number, resolved: ResolvedSoFar): void {
  const window = resolved.repairWindowSeconds as number;
  if (catchUpSeconds > window) throw new InvalidArgumentError(`option catchUpSeconds must be at most repairWindowSeconds (${window}), got ${catchUpSeconds}`);
}

function dataDirOf(dir: string | undefined): string | undefined {
  if (dir !== undefined && (typeof dir !== 'string' || dir === '')) throw new InvalidArgumentError('option dataDir must be a directory name');
  return dir;
}
