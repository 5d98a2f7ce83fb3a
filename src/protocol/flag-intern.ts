// Flags read from the wire as shared strings: a type or subflag packet is compared in
// place with the flags of its length, so that a known flag costs no new string.
import { flags } from './flags.js';

/** The flags a type or subflag packet usually holds, by length: compared in place, shared strings. */
const FLAG_BY_LENGTH = new Map<number, string[]>(); // filled here, read-only after
for (const f of Object.values(flags)) {
  const list = FLAG_BY_LENGTH.get(f.length);
  if (list) list.push(f);
  else FLAG_BY_LENGTH.set(f.length, [f]);
}

/** Each flag's bytes, made once at load and read-only after: a relayed message's own type. */
const FLAG_BYTES: ReadonlyMap<string, Buffer> = new Map(Object.values(flags).map((f) => [f, Buffer.from(f, 'latin1')]));

/** A type's bytes, of its own (not a view into a socket chunk); known flags are shared (not to be written to). */
export function flagBytes(type: string): Buffer {
  return FLAG_BYTES.get(type) ?? Buffer.from(type, 'latin1');
}

/** buf[start, end) as latin1, returning the flag's own string when it is one (no new string). */
export function internFlag(buf: Buffer, start: number, end: number): string {
  const candidates = FLAG_BY_LENGTH.get(end - start);
  if (candidates !== undefined) {
    outer: for (const f of candidates) {
      for (let i = 0; i < f.length; i++) if (buf[start + i] !== f.charCodeAt(i)) continue outer;
      return f;
    }
  }
  return buf.toString('latin1', start, end);
}
