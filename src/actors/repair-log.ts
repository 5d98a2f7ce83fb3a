/**
 * The data directory's log (option dataDir, docs/persistence.md): the recent-message
 * store of repair and the ids this node's user has seen, kept on disk so that a restart
 * repeats nothing and catches up on what it missed.
 *
 * One append-only file, `repair.log`, of records
 *   [u32 body length][u32 CRC-32 of the body] body
 * with bodies
 *   [u8 1][u32 time][8-byte short id][frame]   a message delivered or sent (its wire frame)
 *   [u8 2][u32 completeSince]                  the store's completeSince rose to this
 * Integers are big-endian. A record is written (one write(2), before the actor's turn
 * ends) as the message is stored: a killed process loses nothing the operating system
 * was given; the file is synced (fsync) every dataFlushIntervalMs, so a machine crash
 * loses at most that interval.
 *
 * Reading stops at the first record that does not check out (short, too long, or a
 * checksum that differs): the torn tail of a write cut by a crash. The file is cut there,
 * so that later records follow good ones.
 *
 * Bounded: when the file holds more than twice what the store holds (plus 1 MiB), it is
 * rewritten from the store (compaction): into `repair.log.tmp`, synced, renamed over
 * `repair.log`, the directory synced. A crash before the rename leaves the old log whole
 * (the leftover tmp file is removed on open); after it, the new one.
 */
import { closeSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { DataDirError } from '../errors.js';

export const LOG_FILE = 'repair.log';
const TMP_FILE = 'repair.log.tmp';
const HEADER = 8;
const MESSAGE = 1;
const COMPLETE_SINCE = 2;
const ID_BYTES = 8;
const MESSAGE_HEAD = 1 + 4 + ID_BYTES;
/** Compaction waits until the file exceeds twice the live records by at least this. */
const COMPACT_SLACK = 1024 * 1024;

export interface LoggedMessage { id: string; time: number; frame: Buffer }

export class RepairLog {
  /** Size of the log file, bytes. */
  bytes = 0;
  /** Messages read at open, in the order written. */
  loaded: LoggedMessage[] = [];
  /** The highest completeSince read at open (0: none). */
  loadedCompleteSince = 0;
  /** Bytes cut off the end at open (a torn record). */
  cutBytes = 0;
  compactions = 0;
  private fd: number;
  private unsynced = false;

  private constructor(readonly dir: string, private readonly maxFrameBytes: number) {
    mkdirSync(dir, { recursive: true });
    rmSync(join(dir, TMP_FILE), { force: true });
    this.fd = openSync(join(dir, LOG_FILE), 'a+');
    this.read();
  }

  /** Opens (creating it if missing) the log in `dir`; throws DataDirError if it cannot. */
  static open(dir: string, maxFrameBytes: number): RepairLog {
    try {
      return new RepairLog(dir, maxFrameBytes);
    } catch (err) {
      throw new DataDirError(`cannot open ${join(dir, LOG_FILE)}: ${(err as Error).message}`, err);
    }
  }

  /** Appends a message record. */
  append(id: string, time: number, frame: Uint8Array | readonly Uint8Array[]): void {
    let size = 0;
    if (frame instanceof Uint8Array) size = frame.length;
    else for (const p of frame) size += p.length;
    const out = Buffer.allocUnsafe(HEADER + MESSAGE_HEAD + size);
    out[HEADER] = MESSAGE;
    out.writeUInt32BE(clampU32(time), HEADER + 1);
    out.write(id, HEADER + 5, ID_BYTES, 'latin1');
    let at = HEADER + MESSAGE_HEAD;
    if (frame instanceof Uint8Array) out.set(frame, at);
    else for (const p of frame) { out.set(p, at); at += p.length; }
    this.write(seal(out));
  }

  appendCompleteSince(time: number): void {
    const out = Buffer.allocUnsafe(HEADER + 5);
    out[HEADER] = COMPLETE_SINCE;
    out.writeUInt32BE(clampU32(time), HEADER + 1);
    this.write(seal(out));
  }

  /** Whether the file holds enough dead records to be rewritten, given the live ones' size. */
  wantsCompaction(liveMessages: number, liveFrameBytes: number): boolean {
    return this.bytes > 2 * (liveFrameBytes + liveMessages * (HEADER + MESSAGE_HEAD)) + COMPACT_SLACK;
  }

  /** Rewrites the log as exactly these records (see the file comment for why a crash cannot lose both). */
  rewrite(messages: Iterable<LoggedMessage>, completeSince: number): void {
    const tmp = join(this.dir, TMP_FILE);
    const fd = openSync(tmp, 'w');
    let bytes = 0;
    try {
      const put = (b: Buffer) => { writeAll(fd, b); bytes += b.length; };
      if (completeSince > 0) {
        const cs = Buffer.allocUnsafe(HEADER + 5);
        cs[HEADER] = COMPLETE_SINCE;
        cs.writeUInt32BE(clampU32(completeSince), HEADER + 1);
        put(seal(cs));
      }
      for (const m of messages) {
        const out = Buffer.allocUnsafe(HEADER + MESSAGE_HEAD + m.frame.length);
        out[HEADER] = MESSAGE;
        out.writeUInt32BE(clampU32(m.time), HEADER + 1);
        out.write(m.id, HEADER + 5, ID_BYTES, 'latin1');
        m.frame.copy(out, HEADER + MESSAGE_HEAD);
        put(seal(out));
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(this.dir, LOG_FILE));
    syncDir(this.dir);
    closeSync(this.fd);
    this.fd = openSync(join(this.dir, LOG_FILE), 'a');
    this.bytes = bytes;
    this.unsynced = false;
    this.compactions++;
  }

  /** fsync, if anything was written since the last. */
  sync(): void {
    if (!this.unsynced) return;
    this.unsynced = false;
    fsyncSync(this.fd);
  }

  close(): void {
    try {
      this.sync();
    } finally {
      closeSync(this.fd);
    }
  }

  private write(b: Buffer): void {
    writeAll(this.fd, b);
    this.bytes += b.length;
    this.unsynced = true;
  }

  private read(): void {
    const data = readFileSync(join(this.dir, LOG_FILE));
    let at = 0;
    while (at + HEADER <= data.length) {
      const length = data.readUInt32BE(at);
      if (length < 1 || at + HEADER + length > data.length) break;
      const body = data.subarray(at + HEADER, at + HEADER + length);
      if (crc32(body) !== data.readUInt32BE(at + 4)) break;
      const kind = body[0];
      if (kind === MESSAGE && length > MESSAGE_HEAD) {
        // A frame larger than the store takes now (its bound was lowered) is passed over.
        if (length - MESSAGE_HEAD <= this.maxFrameBytes) this.loaded.push({ time: body.readUInt32BE(1), id: body.toString('latin1', 5, 5 + ID_BYTES), frame: Buffer.from(body.subarray(MESSAGE_HEAD)) });
      } else if (kind === COMPLETE_SINCE && length === 5) {
        this.loadedCompleteSince = Math.max(this.loadedCompleteSince, body.readUInt32BE(1));
      } else {
        break;
      }
      at += HEADER + length;
    }
    if (at < data.length) {
      this.cutBytes = data.length - at;
      ftruncateSync(this.fd, at);
      fsyncSync(this.fd);
    }
    this.bytes = at;
  }
}

/** Fills in a record's header: the body's length and CRC-32. */
function seal(out: Buffer): Buffer {
  const body = out.subarray(HEADER);
  out.writeUInt32BE(body.length, 0);
  out.writeUInt32BE(crc32(body), 4);
  return out;
}

function writeAll(fd: number, b: Buffer): void {
  let at = 0;
  while (at < b.length) at += writeSync(fd, b, at, b.length - at);
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const clampU32 = (n: number) => Math.max(0, Math.min(0xffffffff, Math.floor(n)));
