/**
 * The packets of rx2p's repair exchange (between rx2p nodes only: see src/actors/repair.ts).
 * Each is a whisper whose payload is [REPAIR_SUBFLAG, kind, ...]; the binary packet of
 * each kind is encoded and decoded here, with no I/O. Integers are big-endian; times
 * are unix seconds as uint32; a short id is 8 bytes (src/actors/repair-store.ts).
 *
 *   sum   [u32 horizon][u32 completeSince][u16 bucketSeconds] then per bucket
 *         [u32 index][u32 count][u32 xor high][u32 xor low]                  (16 bytes)
 *   have  mode packet ('ask' | 'offer'), then [u32 horizon][u16 bucketSeconds] and per
 *         bucket [u32 index][u8 complete][u32 n] then n x [u32 time][8-byte id]
 *   want  n x [8-byte id]
 *
 * Decoding checks every count against the bytes that remain before reading, and the
 * total of ids against the caller's bound: a peer's numbers decide no work beyond
 * the packet's own length.
 */
import { MalformedControlError } from './errors.js';

/** The capability rx2p nodes advertise in their handshake's compression list (py2p ignores names it does not know). */
export const REPAIR_CAPABILITY = 'rx2p-repair/1';
/** The whisper subflag of the repair exchange. */
export const REPAIR_SUBFLAG = 'rx2p-repair';

export const SHORT_ID = 8;

export interface SumBucket { index: number; count: number; x0: number; x1: number }
export interface Summary { horizon: number; completeSince: number; bucketSeconds: number; buckets: SumBucket[] }

export interface HaveBucket { index: number; complete: boolean; ids: string[]; times: number[] }
export interface Have { horizon: number; bucketSeconds: number; buckets: HaveBucket[] }

const u32 = (n: number) => Math.max(0, Math.min(0xffffffff, Math.floor(n)));

export function encodeSummary(s: Summary): Buffer {
  const out = Buffer.allocUnsafe(10 + 16 * s.buckets.length);
  out.writeUInt32BE(u32(s.horizon), 0);
  out.writeUInt32BE(u32(s.completeSince), 4);
  out.writeUInt16BE(s.bucketSeconds, 8);
  let at = 10;
  for (const b of s.buckets) {
    out.writeUInt32BE(b.index >>> 0, at);
    out.writeUInt32BE(b.count >>> 0, at + 4);
    out.writeUInt32BE(b.x0 >>> 0, at + 8);
    out.writeUInt32BE(b.x1 >>> 0, at + 12);
    at += 16;
  }
  return out;
}

export function decodeSummary(p: Buffer, maxBuckets: number): Summary {
  if (p.length < 10 || (p.length - 10) % 16 !== 0) throw new MalformedControlError('repair summary', `${p.length} bytes`);
  const n = (p.length - 10) / 16;
  if (n > maxBuckets) throw new MalformedControlError('repair summary', `${n} buckets, at most ${maxBuckets}`);
  const bucketSeconds = p.readUInt16BE(8);
  if (bucketSeconds === 0) throw new MalformedControlError('repair summary', 'bucket of 0 s');
  const buckets: SumBucket[] = [];
  for (let at = 10; at < p.length; at += 16) {
    buckets.push({ index: p.readUInt32BE(at), count: p.readUInt32BE(at + 4), x0: p.readUInt32BE(at + 8), x1: p.readUInt32BE(at + 12) });
  }
  return { horizon: p.readUInt32BE(0), completeSince: p.readUInt32BE(4), bucketSeconds, buckets };
}

export function encodeHave(h: Have): Buffer {
  let size = 6;
  for (const b of h.buckets) size += 9 + 12 * b.ids.length;
  const out = Buffer.allocUnsafe(size);
  out.writeUInt32BE(u32(h.horizon), 0);
  out.writeUInt16BE(h.bucketSeconds, 4);
  let at = 6;
  for (const b of h.buckets) {
    out.writeUInt32BE(b.index >>> 0, at);
    out[at + 4] = b.complete ? 1 : 0;
    out.writeUInt32BE(b.ids.length, at + 5);
    at += 9;
    for (let i = 0; i < b.ids.length; i++) {
      out.writeUInt32BE(u32(b.times[i]!), at);
      out.write(b.ids[i]!, at + 4, SHORT_ID, 'latin1');
      at += 12;
    }
  }
  return out;
}

export function decodeHave(p: Buffer, maxIds: number): Have {
  if (p.length < 6) throw new MalformedControlError('repair have', `${p.length} bytes`);
  const bucketSeconds = p.readUInt16BE(4);
  if (bucketSeconds === 0) throw new MalformedControlError('repair have', 'bucket of 0 s');
  const buckets: HaveBucket[] = [];
  let total = 0;
  let at = 6;
  while (at < p.length) {
    if (p.length - at < 9) throw new MalformedControlError('repair have', 'truncated bucket');
    const index = p.readUInt32BE(at);
    const complete = p[at + 4] === 1;
    const n = p.readUInt32BE(at + 5);
    at += 9;
    if (n > (p.length - at) / 12) throw new MalformedControlError('repair have', `${n} ids announced, fewer sent`);
    total += n;
    if (total > maxIds) throw new MalformedControlError('repair have', `more than ${maxIds} ids`);
    const ids: string[] = [];
    const times: number[] = [];
    for (let i = 0; i < n; i++) {
      times.push(p.readUInt32BE(at));
      ids.push(p.toString('latin1', at + 4, at + 12));
      at += 12;
    }
    buckets.push({ index, complete, ids, times });
  }
  return { horizon: p.readUInt32BE(0), bucketSeconds, buckets };
}

export function encodeWant(ids: readonly string[]): Buffer {
  const out = Buffer.allocUnsafe(SHORT_ID * ids.length);
  for (let i = 0; i < ids.length; i++) out.write(ids[i]!, SHORT_ID * i, SHORT_ID, 'latin1');
  return out;
}

export function decodeWant(p: Buffer, maxIds: number): string[] {
  if (p.length % SHORT_ID !== 0) throw new MalformedControlError('repair want', `${p.length} bytes`);
  const n = p.length / SHORT_ID;
  if (n > maxIds) throw new MalformedControlError('repair want', `${n} ids, at most ${maxIds}`);
  const ids: string[] = [];
  for (let at = 0; at < p.length; at += SHORT_ID) ids.push(p.toString('latin1', at, at + SHORT_ID));
  return ids;
}
