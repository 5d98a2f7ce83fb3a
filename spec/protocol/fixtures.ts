// Loader for the py2p 0.2 golden vectors (spec/fixtures/README.md). Both the
// JSON (hex strings) and the MessagePack (bin) twins are normalised to the
// same shape: every value under a key ending in `_hex` becomes a Buffer (or a
// list of Buffers); everything else is left as is.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { decode } from '@msgpack/msgpack';

const fixturesDir = new URL('../fixtures/', import.meta.url);

export type Hexish = Buffer;
// The vectors are heterogeneous records; tests read them by documented key.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Case = Record<string, any> & { kind: string; name: string };

export interface VectorFile {
  format: string;
  format_version: number;
  reference: { py2p_version: string; protocol_version: string; compression_methods: string[] };
  cases: Case[];
}

function toBuf(v: unknown): unknown {
  if (typeof v === 'string') return Buffer.from(v, 'hex');
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (Array.isArray(v)) return v.map(toBuf);
  return v;
}

function normalise(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(normalise);
  if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = k.endsWith('_hex') ? toBuf(x) : normalise(x);
    return out;
  }
  return v;
}

export function loadJsonVectors(): VectorFile {
  return normalise(JSON.parse(readFileSync(new URL('py2p-0.2-vectors.json', fixturesDir), 'utf8'))) as VectorFile;
}

export function loadMsgpackVectors(): VectorFile {
  return normalise(decode(readFileSync(new URL('py2p-0.2-vectors.msgpack', fixturesDir)))) as VectorFile;
}

/** Expands a `payload_gen` item (about-1-MiB packets). */
export function expandGen(gen: { fill: string; length: number; seed_hex?: Buffer; unit_hex?: Buffer }): Buffer {
  const out = Buffer.allocUnsafe(gen.length);
  if (gen.fill === 'sha256ctr') {
    const ctr = Buffer.alloc(4);
    let off = 0;
    for (let i = 0; off < gen.length; i++) {
      ctr.writeUInt32BE(i, 0);
      const block = createHash('sha256').update(gen.seed_hex!).update(ctr).digest();
      off += block.copy(out, off, 0, Math.min(block.length, gen.length - off));
    }
    return out;
  }
  if (gen.fill === 'repeat') {
    const unit = gen.unit_hex!;
    if (gen.length > 0 && unit.length === 0) throw new Error('repeat with empty unit');
    for (let off = 0; off < gen.length; off += unit.length) unit.copy(out, off, 0, Math.min(unit.length, gen.length - off));
    return out;
  }
  throw new Error(`unknown payload_gen fill ${gen.fill}`);
}

export function sha256hex(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
