// src/protocol is the wire codec and nothing else (issue #22): it imports nothing from
// outside itself but a short list of pure dependencies, keeps no timers, reads no
// clock but in one named place, and holds no module-level `let`. These checks read the
// source text, so that a violation fails here rather than in a replay months later.
import { expect } from 'chai';
import sinon from 'sinon';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const DIR = 'src/protocol';

/** What src/protocol may import from outside itself, and why. */
const ALLOWED_IMPORTS: Readonly<Record<string, string>> = {
  'node:crypto': 'hashes (ids, keys) and randomUUID for the node salt: pure computation',
  pako: 'the synchronous zlib engine, byte for byte CPython\'s zlib: pure computation, no I/O, runs in the browser',
};

/** The one wall-clock read: py2p's getUTC, the time of a message built without one. */
const CLOCK_FILE = 'clock.ts';

const files = readdirSync(DIR).filter((f) => f.endsWith('.ts')).sort();

function source(file: string): string {
  return readFileSync(join(DIR, file), 'utf8');
}

/** The text without comments (line and block), so that prose naming a timer does not count. */
function code(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** Every module specifier the file imports or re-exports, statically or dynamically. */
function specifiers(text: string): string[] {
  const out: string[] = [];
  for (const re of [/\bfrom\s+['"]([^'"]+)['"]/g, /\bimport\s+['"]([^'"]+)['"]/g, /\bimport\s*\(\s*['"]([^'"]+)['"]/g, /\brequire\s*\(\s*['"]([^'"]+)['"]/g]) {
    for (const m of text.matchAll(re)) out.push(m[1]!);
  }
  return out;
}

describe('src/protocol purity', function () {
  it('has files to check', function () {
    expect(files.length).to.be.greaterThan(15);
    expect(files).to.include(CLOCK_FILE);
  });

  it('imports nothing outside src/protocol but its listed pure dependencies', function () {
    const bad: string[] = [];
    for (const f of files) {
      for (const s of specifiers(code(source(f)))) {
        const inside = s.startsWith('./') && !s.includes('..');
        if (!inside && !Object.hasOwn(ALLOWED_IMPORTS, s)) bad.push(`${f} imports ${s}`);
      }
    }
    expect(bad).to.deep.equal([]);
  });

  it('keeps no timers and reads the clock only in clock.ts', function () {
    const bad: string[] = [];
    for (const f of files) {
      const text = code(source(f));
      for (const re of [/\bset(Timeout|Interval|Immediate)\b/, /\bclear(Timeout|Interval|Immediate)\b/, /\bqueueMicrotask\b/, /\bperformance\s*\./, /\bnew\s+Date\b/, /\bprocess\s*\./, /\bMath\.random\b/]) {
        if (re.test(text)) bad.push(`${f}: ${re.source}`);
      }
      if (f !== CLOCK_FILE && /\bDate\s*\.\s*now\b/.test(text)) bad.push(`${f}: Date.now`);
    }
    expect(bad).to.deep.equal([]);
  });

  it('declares no module-level let or var', function () {
    const bad: string[] = [];
    for (const f of files) {
      code(source(f)).split('\n').forEach((line, i) => {
        if (/^(export\s+)?(let|var)\b/.test(line)) bad.push(`${f}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(bad).to.deep.equal([]);
  });

  it('has no file over 400 lines', function () {
    const long = files.map((f) => [f, source(f).split('\n').length] as const).filter(([, n]) => n > 401);
    expect(long).to.deep.equal([]);
  });
});

/**
 * Module-level objects of src/protocol and src/actors that stay as they were made,
 * and why (issue #22: no module-level mutable state). Any other top-level object,
 * array, Map, Buffer or typed array fails the spec below.
 */
const READ_ONLY_OBJECTS: Readonly<Record<string, string>> = {
  'protocol/base58.ts:DIGIT': 'the alphabet\'s digit table, filled at load, read after',
  'protocol/base58.ts:utf8Strict': 'a TextDecoder used without { stream }: it keeps nothing between calls',
  'protocol/base58.ts:ALPHABET_CODES': 'the alphabet\'s character codes, read only',
  'protocol/wire-parse.ts:B58_DIGIT': 'the alphabet\'s digit table, filled at load, read after',
  'protocol/flag-intern.ts:FLAG_BY_LENGTH': 'the flags by length, filled at load, read after',
  'protocol/flag-intern.ts:FLAG_BYTES': 'each flag\'s bytes, made at load, read only',
  'protocol/message.ts:EMPTY': 'a zero-length Buffer: nothing to change',
  'protocol/message-read.ts:EMPTY': 'a zero-length Buffer: nothing to change',
  'protocol/sync-zlib.ts:NOTHING': 'a zero-length Uint8Array: nothing to change',
  'protocol/protocol.ts:default_protocol': 'py2p\'s base.default_protocol: a frozen value (its caches and scratch are its own, as any Protocol\'s)',
  'protocol/constants.ts:userSaltBytes': 'user_salt\'s bytes for callers; nothing in src reads it (nodeId hashes user_salt), so a change to it changes nothing here',
};

describe('module-level state in src/protocol and src/actors', function () {
  it('holds no module-level let, var or object that changes (scratch buffers and caches belong to their owner)', function () {
    const found: string[] = [];
    for (const dir of ['protocol', 'actors']) {
      for (const f of readdirSync(join('src', dir)).filter((x) => x.endsWith('.ts')).sort()) {
        code(readFileSync(join('src', dir, f), 'utf8')).split('\n').forEach((line) => {
          if (/^(export\s+)?(let|var)\b/.test(line)) found.push(`${dir}/${f}: ${line.trim()}`);
          const m = /^(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*(.*)$/.exec(line);
          if (m === null) return;
          const init = m[2]!;
          // Frozen values, literals, functions and regular expressions cannot change.
          if (/^(Object\.freeze\(|['"`\d-]|true|false|null|undefined|\(|async\b|function\b|\/)/.test(init)) return;
          if (/^[A-Za-z_$][\w$.]*\s*(\*\*|[-+*/])/.test(init)) return; // arithmetic on constants
          if (!/^(new\s|\[|\{|Buffer\.|(Ui|I)nt(8|16|32)Array\.|Float(32|64)Array\.|Uint8ClampedArray\.|Array\.|Map\b|Set\b)/.test(init)) return;
          const key = `${dir}/${f}:${m[1]}`;
          if (!Object.hasOwn(READ_ONLY_OBJECTS, key)) found.push(`${key} = ${init.slice(0, 60)}`);
        });
      }
    }
    expect(found).to.deep.equal([]);
  });

  it('lists only objects that exist', function () {
    for (const key of Object.keys(READ_ONLY_OBJECTS)) {
      const [file, name] = key.split(':') as [string, string];
      expect(code(readFileSync(join('src', file), 'utf8')), key).to.match(new RegExp(`^(export\\s+)?const\\s+${name}\\b`, 'm'));
    }
  });

  it('the codec\'s working space is its protocol\'s: two protocols never share a scratch, and a message uses its own', async function () {
    const { Protocol, PathfindingMessage } = await import('../../src/index.js');
    const a = new Protocol('a', 'Plaintext');
    const b = new Protocol('a', 'Plaintext');
    expect(a.scratch).to.equal(a.scratch);
    expect(a.scratch).to.not.equal(b.scratch);
    expect(a.scratch.hash.buffer).to.not.equal(b.scratch.hash.buffer);
    // The same message under either protocol has the same id: the scratch carries nothing between calls.
    const ma = new PathfindingMessage(a, 'broadcast', 'sender', ['x', 'y'], null, 1_500_000_000);
    const mb = new PathfindingMessage(b, 'broadcast', 'sender', ['x', 'y'], null, 1_500_000_000);
    expect(ma.id).to.equal(mb.id);
    expect(ma.string.equals(mb.string)).to.equal(true);
  });

  it('a message compressed or read without an engine of the caller\'s uses its protocol\'s, kept between calls (not a new deflate state each time)', async function () {
    const { Protocol, PathfindingMessage } = await import('../../src/index.js');
    const p = new Protocol('z', 'Plaintext');
    const engine = p.scratch.zlib;
    const deflate = sinon.spy(engine, 'deflate');
    const inflate = sinon.spy(engine, 'inflate');
    try {
      const frames = [1, 2].map((i) => new PathfindingMessage(p, 'broadcast', 'sender', ['x', String(i)], ['gzip'], 1_500_000_000).string);
      expect(deflate.callCount).to.equal(2);
      const back = PathfindingMessage.feedString(p, frames[1]!, false, ['gzip']);
      expect(inflate.callCount).to.equal(1);
      expect(back.payload.map(String)).to.deep.equal(['x', '2']);
      expect(p.scratch.zlib).to.equal(engine);
    } finally {
      deflate.restore();
      inflate.restore();
    }
  });
});
