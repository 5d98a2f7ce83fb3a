// src/protocol is the wire codec and nothing else (issue #22): it imports nothing from
// outside itself but a short list of pure dependencies, keeps no timers, reads no
// clock but in one named place, and holds no module-level `let`. These checks read the
// source text, so that a violation fails here rather than in a replay months later.
import { expect } from 'chai';
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
