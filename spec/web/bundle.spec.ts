// The browser build: one ESM file with no Node built-ins, and `rx2p --web` serving it.
import { expect } from 'chai';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildWeb } from '../../src/web/build.js';
import { Proc, Procs } from '../cli/proc.js';

describe('browser build', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => { dir = mkdtempSync(join(tmpdir(), 'rx2p-bundle-')); });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('bundles the library into one ESM file that imports nothing (no Node built-ins), and the page script that imports only it', async () => {
    const built = await buildWeb(dir);
    const lib = readFileSync(join(dir, 'rx2p.js'), 'utf8');
    const app = readFileSync(join(dir, 'app.js'), 'utf8');
    console.log(`      rx2p.js ${built.bytes.library.toLocaleString('en-US')} bytes, app.js ${built.bytes.app.toLocaleString('en-US')} bytes (minified), built in ${built.ms} ms`);
    const imports = (code: string) => [...code.matchAll(/(?:^|[;}\s])import\s*(?:[\w{}*,\s$]+from\s*)?["']([^"']+)["']/g)].map((m) => m[1]);
    expect(imports(lib)).to.deep.equal([]);
    expect(imports(app)).to.deep.equal(['./rx2p.js']);
    expect(lib).to.not.match(/\brequire\(["']/);
    expect(lib).to.match(/export\s*\{[^}]*\bMeshSocket\b/);
  });
});

describe('rx2p --web', function () {
  this.timeout(30_000);
  const procs = new Procs();
  afterEach(() => procs.killAll());

  it('serves the page, the bundle and the node state on its port, and exits cleanly on SIGTERM', async () => {
    const node = procs.add(Proc.rx2p('--web', '--json', '--no-stdin'));
    const listening = await node.record((r) => r.type === 'listening', 20_000, 'the listening record');
    const url = String(listening.web);
    expect(url).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await fetch(url);
    expect(page.headers.get('content-type')).to.match(/text\/html/);
    expect(await page.text()).to.include('<script type="module" src="app.js">');
    const lib = await fetch(`${url}rx2p.js`);
    expect(lib.headers.get('content-type')).to.match(/javascript/);
    const state = await (await fetch(`${url}state.json`)).json() as { id: string; wsUrl: string; peers: unknown[] };
    expect(state.id).to.equal(listening.id);
    expect(state.wsUrl).to.equal(url.replace('http://', 'ws://').replace(/\/$/, ''));
    expect(state.peers).to.deep.equal([]);
    node.child.kill('SIGTERM');
    expect(await node.exitWithin(3000)).to.deep.equal({ code: 0, signal: null });
  });
});
