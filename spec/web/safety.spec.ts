// The browser side made safe and dependable, tried as a hostile page and as a user would
// (headless Chromium through playwright-core): only the page's own origin and named ones
// may join or read state.json, Host values a DNS-rebinding page could forge get 403;
// whispers to and from tabs arrive once or fail typed, with no request storm; the page
// keeps up with a flood at 4× CPU throttling; it re-joins a node that went away.
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { MeshSocket, PathfindingMessage, encodeFrame, pyJsonDumps, type MeshOptions, type Message } from '../../src/index.js';
import { webPage } from '../../src/web/server.js';
import { RawPeer } from '../mesh/raw-peer.js';
import { link, waitFor } from '../helpers.js';
import { launchChromium, type Browser } from './browser.js';

// These names exist in the page, where the functions given to evaluate() run.
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const document: any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Seen { sender: string; subflag: string; text: string; whisper: boolean; mine: boolean }

/** Broadcasts in the flood (RX2P_WEB_FLOOD=10000 for the acceptance run). */
const FLOOD = Number(process.env.RX2P_WEB_FLOOD ?? 2_000);
const REBOUND = 'attacker.example';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor(s.length / 2)]!;
};

describe('browsers made safe and dependable (headless Chromium)', function () {
  this.timeout(180_000);
  let browser: Browser | undefined;
  let buildDir: string;
  let onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  const made: MeshSocket[] = [];
  const servers: http.Server[] = [];
  const pageErrors: Error[] = [];
  /** The node each page's requests are served by (set per node, read per request). */
  const servedBy = new Map<number, MeshSocket>();

  before(async () => {
    buildDir = mkdtempSync(join(tmpdir(), 'rx2p-web-'));
    // One handler for every node of the file: it serves the node whose WebSocket port was asked.
    onRequest = await webPage(() => current, buildDir);
    // A DNS-rebinding page: attacker.example resolves to 127.0.0.1.
    browser = await launchChromium([`--host-resolver-rules=MAP ${REBOUND} 127.0.0.1`]);
  });
  let current: MeshSocket | undefined;
  after(async () => {
    await browser?.close();
    rmSync(buildDir, { recursive: true, force: true });
  });
  afterEach(async () => {
    for (const p of browser!.context.pages()) await p.close();
    await Promise.all(made.splice(0).map((n) => n.close()));
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
    servedBy.clear();
    expect(pageErrors.splice(0)).to.deep.equal([]);
  });

  /** A node serving the page (at 127.0.0.1, ports from the OS unless given). */
  async function webNode(options: MeshOptions = {}, ports: { tcp?: number; ws?: number } = {}, origins?: string[]): Promise<MeshSocket> {
    const node = new MeshSocket('127.0.0.1', ports.tcp ?? 0, {
      ...options,
      webSocket: { port: ports.ws ?? 0, origins, onRequest: (req, res) => { current = servedBy.get(req.socket.localPort!); onRequest(req, res); } },
    });
    made.push(node);
    await node.ready;
    servedBy.set(node.webSocketPort!, node);
    return node;
  }
  async function plainNode(options: MeshOptions = {}): Promise<MeshSocket> {
    const node = new MeshSocket('127.0.0.1', 0, options);
    made.push(node);
    return node.ready;
  }

  async function openTab(node: MeshSocket, host = '127.0.0.1'): Promise<{ page: Page; id: string }> {
    const page = await browser!.context.newPage();
    page.on('pageerror', (err) => { pageErrors.push(err); });
    if (process.env.RX2P_DEBUG_PAGE) page.on('console', (m) => console.log('[page]', m.text()));
    await page.goto(`http://${host}:${node.webSocketPort}/`);
    await page.waitForFunction(() => window.rx2p?.node.routingTable.size > 0, undefined, { timeout: 15_000 });
    return { page, id: await page.evaluate(() => window.rx2p.node.id as string) };
  }

  function get(port: number, path: string, headers: Record<string, string> = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      });
      req.on('error', reject);
    });
  }

  /** Another site: its own copy of the bundle, a script that tries to join the node at ?port= and read its state.json. */
  async function foreignSite(): Promise<string> {
    const bundle = readFileSync(join(buildDir, 'rx2p.js'));
    const html = `<!doctype html><script type="module">
      import { MeshSocket } from './rx2p.js';
      const port = new URLSearchParams(location.search).get('port');
      window.result = {};
      window.got = [];
      const n = new MeshSocket();
      n.messages$.subscribe((m) => window.got.push(m.text(1)));
      window.n = n;
      n.connect('ws://127.0.0.1:' + port).then(() => { window.result.join = 'joined'; }, (e) => { window.result.join = e.code || e.message; });
      fetch('http://127.0.0.1:' + port + '/state.json').then((r) => { window.result.state = r.status; }, () => { window.result.state = 'refused'; });
    </script>`;
    const server = http.createServer((req, res) => {
      if (req.url === '/rx2p.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
      else res.writeHead(200, { 'content-type': 'text/html' }).end(html);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  }

  /** Opens the foreign site against node; resolves with what its script got. */
  async function tryForeign(site: string, node: MeshSocket): Promise<{ page: Page; result: { join: string; state: number | string } }> {
    const page = await browser!.context.newPage();
    await page.goto(`${site}/?port=${node.webSocketPort}`);
    await page.waitForFunction(() => window.result?.join !== undefined && window.result?.state !== undefined, undefined, { timeout: 10_000 });
    return { page, result: await page.evaluate(() => window.result) };
  }

  it('same origin by default: another site cannot join or read state.json, a rebound Host gets 403, --web-origin admits a named origin', async () => {
    const a = await webNode();
    const b = await plainNode();
    await link(a, b);
    const port = a.webSocketPort!;
    // state.json: 200 for the page's own Host values, 403 for a name DNS rebinding could point here.
    expect(await get(port, '/state.json')).to.equal(200);
    expect(await get(port, '/state.json', { host: `localhost:${port}` })).to.equal(200);
    expect(await get(port, '/state.json', { host: `${REBOUND}:${port}` })).to.equal(403);
    expect(await get(port, '/state.json', { origin: 'http://evil.example' })).to.equal(403);
    expect(a.stats.errors.ERR_WS_HOST).to.equal(1);

    // The rebinding page in a real browser: its name resolves to 127.0.0.1, the node refuses it.
    const rebound = await browser!.context.newPage();
    const res = await rebound.goto(`http://${REBOUND}:${port}/`);
    expect(res!.status()).to.equal(403);
    await rebound.close();

    // Another origin with its own copy of the bundle: no join, no state.
    const site = await foreignSite();
    const evil = await tryForeign(site, a);
    expect(evil.result.join).to.not.equal('joined');
    expect(evil.result.state).to.equal('refused');
    expect(a.routingTable.size).to.equal(1);
    expect(a.stats.errors.ERR_WS_ORIGIN).to.be.at.least(3);
    console.log(`      foreign origin: join ${evil.result.join}, state.json ${evil.result.state}; node errors ${JSON.stringify(a.stats.errors)}`);

    // The same site, named with --web-origin (webSocket.origins): it joins, and hears b.
    const named = await webNode({}, {}, [site]);
    await link(named, b);
    const friend = await tryForeign(site, named);
    expect(friend.result).to.deep.equal({ join: 'joined', state: 200 });
    b.send('to the named origin');
    await friend.page.waitForFunction(() => window.got.includes('to the named origin'), undefined, { timeout: 10_000 });
  });
});
