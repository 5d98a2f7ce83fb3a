// The options are one table (src/options.ts, src/options/*.ts) from which MeshOptions,
// ResolvedOptions, defaultOptions and the checks come. Its answers are the ones rx2p gave
// when each option was written four times (interface, resolved type, defaults, resolver):
// spec/fixtures/options-resolution.json was recorded from that code, for every option
// given each value of a grid (and a few combinations), and this spec replays the grid.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { defaultOptions, optionTable, resolveOptions } from '../src/options.js';
import { Protocol } from '../src/protocol/protocol.js';

const recorded = JSON.parse(readFileSync(new URL('./fixtures/options-resolution.json', import.meta.url), 'utf8')) as Record<string, unknown>;

/** A resolved value as JSON can hold it (functions and class instances by name). */
function show(v: unknown): unknown {
  if (typeof v === 'function') return `function ${v.name}`;
  if (v instanceof Set) return { set: [...v] };
  if (Buffer.isBuffer(v)) return { hex: v.toString('hex') };
  if (v && typeof v === 'object' && !Array.isArray(v) && v.constructor !== Object) return `object ${v.constructor.name}`;
  if (Array.isArray(v)) return v.map(show);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, show(x)]));
  return v === undefined ? '(undefined)' : v;
}

function run(o: Record<string, unknown>): Record<string, unknown> {
  try {
    const r = resolveOptions(o as never) as unknown as Record<string, unknown>;
    // `protocol` is resolved too since the table (it was read from the given options only).
    return Object.fromEntries(Object.keys(r).filter((k) => k !== 'protocol').sort().map((k) => [k, show(r[k])]));
  } catch (e) {
    const err = e as { code?: string; message: string; constructor: { name: string } };
    return JSON.parse(JSON.stringify({ error: err.constructor.name, code: err.code, message: err.message })) as Record<string, unknown>;
  }
}

const PROBES: unknown[] = [-1, 0, 1, 64, 1024, 86_401, 1.5, 'x', true, null, ['gzip'], ['127.0.0.1', 1]];
const COMBOS: Array<[string, Record<string, unknown>]> = [
  ['window>age', { maxMessageAgeSeconds: 10, repairWindowSeconds: 20 }],
  ['age sets window', { maxMessageAgeSeconds: 100 }],
  ['catchUp>window', { repairWindowSeconds: 10, catchUpSeconds: 11 }],
  ['catchUp=window', { repairWindowSeconds: 10, catchUpSeconds: 10 }],
  ['ws', { webSocket: { port: 0 } }],
  ['ws full', { webSocket: { port: 5, host: 'h', url: 'ws://x', origins: ['https://a'], maxMessageBytes: 100, upgradeTimeoutMs: 5 }, maxFrameBytes: 1000 }],
  ['ws bad port', { webSocket: { port: -1 } }],
  ['ws bad url', { webSocket: { port: 0, url: 'http://x' } }],
  ['ws bad origins', { webSocket: { port: 0, origins: 'x' } }],
  ['ws bad max', { webSocket: { port: 0, maxMessageBytes: 10 } }],
  ['ws bad upgrade', { webSocket: { port: 0, upgradeTimeoutMs: 0 } }],
  ['compression dup', { compression: ['gzip', 'gzip'] }],
  ['compression bad', { compression: ['gzip', 'lzma9'] }],
  ['compression nonlist', { compression: 'gzip' }],
  ['outAddr+out_addr', { outAddr: ['a', 1], out_addr: ['b', 2] }],
  ['debugLevel+debug_level', { debugLevel: 2, debug_level: 3 }],
  ['out_addr bad', { out_addr: ['a', 70000] }],
  ['allow no auth', { allow: [] }],
  ['allow + admitOrigins false', { allow: [], admitOrigins: false }],
  ['networkKey', { networkKey: 'ab'.repeat(32) }],
  ['networkKey bad', { networkKey: 5 }],
  ['dataDir', { dataDir: '/tmp/x' }],
  ['dataDir bad', { dataDir: '' }],
  ['transport bad', { transport: {} }],
  ['transport ok', { transport: { listen() {}, dial() {} } }],
  ['random bad', { random: 5 }],
  ['admit bad', { admit: 5 }],
  ['protocol auth', { protocol: new Protocol('mesh', 'Ed25519') }],
  ['prot auth', { prot: new Protocol('mesh', 'Ed25519') }],
  ['repair bad', { repair: 'yes' }],
  ['queuePolicy bad', { queuePolicy: 'drop-all' }],
  ['signatureBatch 256', { signatureBatch: 256 }],
  ['two bad', { maxQueue: 0, maxFrameBytes: 0 }],
];

describe('options: one table', () => {
  const base = run({});
  const changes = (r: Record<string, unknown>) => {
    if ('error' in r) return r;
    return Object.fromEntries(Object.entries(r).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(base[k])));
  };

  it('has the defaults it had (defaultOptions and resolveOptions({}))', () => {
    expect(Object.fromEntries(Object.entries(defaultOptions).sort())).to.deep.equal(recorded.defaultOptions);
    expect(base).to.deep.equal(recorded['{}']);
  });

  it('resolves or refuses every option on a grid of values as it did, with the same typed errors', () => {
    const names = [...Object.keys(base), 'prot', 'out_addr', 'debug_level', 'protocol'];
    let compared = 0;
    for (const name of names) {
      for (const p of PROBES) {
        const key = `${name}=${JSON.stringify(p)}`;
        expect(changes(run({ [name]: p })), key).to.deep.equal(recorded[key]);
        compared++;
      }
    }
    for (const [name, o] of COMBOS) {
      const r = changes(run(o));
      if (r.identity) r.identity = 'object';
      expect(r, name).to.deep.equal(recorded[name]);
      compared++;
    }
    expect(compared).to.equal(Object.keys(recorded).length - 2);
  });

  it('lists every option of MeshOptions in the table, each with a doc comment (docs/options.md is made from them)', async () => {
    const { readOptionDocs } = await import('../scripts/options-doc.js');
    const docs = readOptionDocs();
    expect(docs.map((d) => d.name)).to.deep.equal(Object.keys(optionTable));
    for (const d of docs) expect(d.doc !== '' || d.aliasOf !== undefined, d.name).to.equal(true);
  });
});
