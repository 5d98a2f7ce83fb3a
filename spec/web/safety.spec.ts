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
  // What this suite measures (time, memory) swings on a shared CI machine; a test whose
  // figure is over its bound is measured once more. A defect fails both runs.
  this.retries(1);
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

  /** A py2p-like peer joined to node: every frame it is sent is kept in raw.frames. */
  /** A raw peer that speaks py2p 0.2, or with `methods` ['rx2p/1'] says it is an rx2p node (and so gets relays). */
  async function py2pPeer(node: MeshSocket, methods: string[] = [], pid = 'RawPy2pPeer'): Promise<{ raw: RawPeer; send: (type: string, payload: string[]) => void; messages: () => PathfindingMessage[] }> {
    const raw = await RawPeer.connect(node.address!.port);
    const send = (type: string, payload: string[]) => raw.send(new PathfindingMessage(node.protocol, type, pid, payload, []).string);
    send('whisper', ['handshake', pid, node.protocol.id, pyJsonDumps(['127.0.0.1', 1]), pyJsonDumps(methods)]);
    await waitFor(() => node.routingTable.has(pid), 5_000, 'the py2p peer joined');
    return { raw, send, messages: () => raw.frames.map((f) => PathfindingMessage.feedString(node.protocol, encodeFrame(f))) };
  }

  it('whispers node → tab, tab → node not connected, tab → tab: once each or a typed error at once; no request storm; py2p peers never see a browser address', async () => {
    const topo = { webTopologyTimeoutMs: 3_000, requestTimeoutMs: 3_000 };
    const a = await webNode(topo);
    const b = await webNode(topo);
    const c = await plainNode(topo); // TCP only: no tab can dial it
    await link(a, b);
    await link(a, c);
    const py = await py2pPeer(a);
    // py2p peers get no relays (docs/py2p-interop.md): request broadcasts are counted at a raw rx2p-speaking peer.
    const watcher = await py2pPeer(a, ['rx2p/1'], 'RawRx2pWatcher');
    const got = new Map<MeshSocket, Message[]>([[a, []], [b, []], [c, []]]);
    for (const [n, list] of got) n.messages$.subscribe((m) => list.push(m));
    const tab1 = await openTab(a);
    const tab2 = await openTab(b);
    const tab3 = await openTab(a); // beside tab1, as two tabs on one page's node
    // Directories settle: c hears a's view listing tab1, tabs hear their nodes'.
    await waitFor(() => c.topology.some((v) => v.id === a.id && v.peers.includes(tab1.id)), 10_000, 'c knows tab1 is a\'s peer');

    const frames = () => a.stats.framesIn + a.stats.framesOut;
    const rate = async (ms: number) => {
      const f0 = frames();
      await new Promise((r) => setTimeout(r, ms));
      return ((frames() - f0) * 1000) / ms;
    };
    const idle = await rate(3_000);

    const fromTab = (page: Page, id: string, text: string) => page.evaluate(async ([to, t]) => {
      const started = performance.now();
      try {
        await window.rx2p.node.whisper(to, t);
        return { ok: true, ms: performance.now() - started };
      } catch (e: any) {
        return { ok: false, code: e.code as string, ms: performance.now() - started };
      }
    }, [id, text] as const);
    const tabGot = (page: Page, text: string) => page.evaluate((t) => (window.rx2p.received as Seen[]).filter((r) => !r.mine && r.whisper && r.text === t).length, text);
    const nodeGot = (n: MeshSocket, text: string) => got.get(n)!.filter((m) => m.msg.msgType === 'whisper' && m.text(1) === text);

    const during = rate(3_000);
    await a.whisper(tab1.id, 'a to tab1');
    await c.whisper(tab1.id, 'c to tab1'); // relayed once by a
    await b.whisper(tab1.id, 'b to tab1');
    const t2c = await fromTab(tab1.page, c.id, 'tab1 to c');
    const t2t = await fromTab(tab1.page, tab2.id, 'tab1 to tab2');
    await tab1.page.waitForFunction((id) => window.rx2p.node.reachable().includes(id), tab3.id, { timeout: 10_000 });
    const sameNode = await fromTab(tab1.page, tab3.id, 'tab1 to tab3');
    expect(sameNode.ok, 'tab1 to tab3 (both on a)').to.equal(true);
    const toGone = await fromTab(tab1.page, 'NoSuchNodeNoSuchNodeNoSuchNodeNoSuchNodeNoSuchNodeNoSuchNodeXX', 'nowhere');
    expect(t2c.ok, 'tab1 to c').to.equal(true);
    expect(toGone).to.deep.include({ ok: false, code: 'ERR_NO_ROUTE' });
    expect(toGone.ms).to.be.below(1_000);
    if (!t2t.ok) expect(t2t.code).to.equal('ERR_NO_ROUTE');
    // A node's whispers to an unknown id: one request broadcast for all of them, each failing typed in time.
    const unknown = 'UnknownNodeUnknownNodeUnknownNodeUnknownNodeUnknownNodeUnknownNo';
    const started = Date.now();
    const tries = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => c.whisper(unknown, `lost ${i}`)));
    const failedIn = Date.now() - started;
    expect(tries.map((t) => t.status === 'rejected' && (t.reason as { code?: string }).code)).to.deep.equal(Array(5).fill('ERR_REQUEST_TIMEOUT'));
    const busy = await during;
    const after = await rate(3_000);

    await tab1.page.waitForFunction(() => window.rx2p.received.filter((r: Seen) => r.whisper && !r.mine).length >= 3, undefined, { timeout: 10_000 });
    await waitFor(() => nodeGot(c, 'tab1 to c').length > 0, 10_000, 'tab1\'s whisper at c');
    if (t2t.ok) await tab2.page.waitForFunction(() => window.rx2p.received.some((r: Seen) => r.text === 'tab1 to tab2'), undefined, { timeout: 10_000 });
    // End markers over the same paths: a copy of any whisper above would arrive before them.
    await a.whisper(tab1.id, 'end a to tab1');
    await c.whisper(tab1.id, 'end c to tab1');
    await b.whisper(tab1.id, 'end b to tab1');
    const endToC = await fromTab(tab1.page, c.id, 'end tab1 to c');
    expect(endToC.ok, 'end marker tab1 to c').to.equal(true);
    const endToTab2 = t2t.ok ? await fromTab(tab1.page, tab2.id, 'end tab1 to tab2') : undefined;
    await tab1.page.waitForFunction(() => ['end a to tab1', 'end c to tab1', 'end b to tab1'].every((t) => window.rx2p.received.some((r: Seen) => r.whisper && !r.mine && r.text === t)), undefined, { timeout: 10_000 });
    await waitFor(() => nodeGot(c, 'end tab1 to c').length > 0, 10_000, 'the end marker at c');
    if (endToTab2?.ok) await tab2.page.waitForFunction(() => window.rx2p.received.some((r: Seen) => r.text === 'end tab1 to tab2'), undefined, { timeout: 10_000 });
    for (const t of ['a to tab1', 'c to tab1', 'b to tab1']) expect(await tabGot(tab1.page, t), t).to.equal(1);
    expect(nodeGot(c, 'tab1 to c').map((m) => m.sender)).to.deep.equal([tab1.id]);
    if (t2t.ok) expect(await tabGot(tab2.page, 'tab1 to tab2')).to.equal(1);
    await tab3.page.waitForFunction(() => window.rx2p.received.some((r: Seen) => r.text === 'tab1 to tab3'), undefined, { timeout: 10_000 });
    expect(await tabGot(tab3.page, 'tab1 to tab3')).to.equal(1);
    expect(await tab3.page.evaluate(() => (window.rx2p.received as Seen[]).find((r) => r.text === 'tab1 to tab3')!.sender)).to.equal(tab1.id);
    for (const n of [a, b]) expect(nodeGot(n, 'tab1 to c')).to.have.length(0);

    // The py2p peer asks a for each tab's address: no answer; for a's own, a's TCP address.
    py.send('broadcast', ['request', 'rid-tab1', tab1.id]);
    py.send('broadcast', ['request', 'rid-tab2', tab2.id]);
    py.send('broadcast', ['request', 'rid-a', a.id]);
    // The end marker: one more request for a after those, on the same connection; a answers
    // in order, so an answer about a tab would come before a's answer to it.
    py.send('broadcast', ['request', 'rid-end', a.id]);
    await waitFor(() => py.messages().some((m) => m.payload[0]?.toString() === 'response' && m.payload[1]?.toString() === 'rid-end'), 5_000, 'a\'s answer to the end marker');
    const seen = py.messages();
    const responses = seen.filter((m) => m.payload[0]?.toString() === 'response').map((m) => m.payload[1]!.toString());
    expect([...new Set(responses)].sort()).to.deep.equal(['rid-a', 'rid-end']); // a's peers that know a may answer too
    const requests = watcher.messages().filter((m) => m.payload[0]?.toString() === 'request' && m.payload[2]?.toString() === unknown);
    expect(requests, 'one request broadcast for five whispers').to.have.length(1);
    watcher.raw.close();
    for (const m of seen) {
      const text = m.payload.map((p) => p.toString('latin1')).join(' ');
      expect(text).to.not.include('browser');
      expect(m.payload[0]?.toString()).to.not.equal('rx2p-relay');
    }
    py.raw.close();
    console.log(`      whispers: tab1→tab3 (same node) once (${sameNode.ms.toFixed(0)} ms), tab1→c ${t2c.ok ? 'once' : t2c.code} (${t2c.ms.toFixed(0)} ms), tab1→tab2 ${t2t.ok ? 'once' : t2t.code} (${t2t.ms.toFixed(0)} ms), tab→unknown ${toGone.code} in ${toGone.ms.toFixed(0)} ms, 5 node whispers to an unknown id: 1 request, all ERR_REQUEST_TIMEOUT in ${failedIn} ms; a's frames/s idle ${idle.toFixed(1)}, during ${busy.toFixed(1)}, after ${after.toFixed(1)}`);
    expect(busy).to.be.at.most(2 * idle + 2);
    expect(after).to.be.at.most(2 * idle + 2);
  });

  it(`keeps up with ${FLOOD.toLocaleString()} broadcasts at 4× CPU throttling: none lost, history and heap bounded, input answered`, async () => {
    const a = await webNode();
    const b = await plainNode();
    await link(a, b);
    const tab = await openTab(a);
    const cdp = await browser!.context.newCDPSession(tab.page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
    const heap = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      return (await cdp.send('Runtime.getHeapUsage')).usedSize / 1e6;
    };
    const heapBefore = await heap();
    if (process.env.RX2P_PROFILE) { await cdp.send('Profiler.enable'); await cdp.send('Profiler.start'); }
    await tab.page.focus('#text');
    const received = () => tab.page.evaluate(() => window.rx2p.counts.received as number);

    const started = Date.now();
    let typing = true;
    const presses: number[] = [];
    const typist = (async () => {
      while (typing) {
        const t0 = Date.now();
        await tab.page.keyboard.press('x');
        presses.push(Date.now() - t0);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    for (let i = 0; i < FLOOD; i++) {
      b.send(`flood ${i}`);
      if (i % 250 === 249) await new Promise((r) => setImmediate(r));
    }
    let last = -1;
    let lastChange = Date.now();
    for (;;) {
      const n = await received();
      if (n >= FLOOD) break;
      if (n !== last) { last = n; lastChange = Date.now(); }
      if (Date.now() - lastChange > 20_000) break; // stalled: the count below says how many
      await new Promise((r) => setTimeout(r, 250));
    }
    const took = Date.now() - started;
    typing = false;
    await typist;
    await tab.page.waitForFunction(() => window.rx2p.counts.frames > 0 && document.querySelectorAll('#log li').length > 0);
    const state = await tab.page.evaluate(() => ({
      received: window.rx2p.counts.received as number,
      frames: window.rx2p.counts.frames as number,
      kept: window.rx2p.received.length as number,
      rows: document.querySelectorAll('#log li').length as number,
      last: (window.rx2p.received as Seen[]).at(-1)?.text,
      stats: window.rx2p.node.stats,
      delays: window.rx2p.inputDelays as number[],
      count: document.getElementById('msg-count').textContent as string,
    }));
    if (process.env.RX2P_PROFILE) {
      const { profile } = await cdp.send('Profiler.stop') as any;
      const self = new Map<string, number>();
      const dt = new Map<number, number>();
      profile.samples.forEach((id: number, i: number) => dt.set(id, (dt.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
      for (const n of profile.nodes) { const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}:${n.callFrame.columnNumber}`; self.set(k, (self.get(k) ?? 0) + (dt.get(n.id) ?? 0)); }
      console.log([...self].sort((x, y) => y[1] - x[1]).slice(0, 25).map(([k, v]) => `${(v / 1000).toFixed(0)} ms ${k}`).join('\n'));
    }
    if (process.env.RX2P_PROFILE) {
      console.log(await tab.page.evaluate(() => {
        const st = window.rx2p.node.router.state;
        const out: string[] = [];
        for (const [k, v] of Object.entries(st)) {
          const x = v as any;
          if (x instanceof Map || x instanceof Set) out.push(`${k}:${x.size}`);
          else if (Array.isArray(x)) out.push(`${k}:[${x.length}]`);
          else if (x && typeof x === 'object') for (const [k2, v2] of Object.entries(x)) { const y = v2 as any; if (y instanceof Map || y instanceof Set) out.push(`${k}.${k2}:${y.size}`); else if (Array.isArray(y)) out.push(`${k}.${k2}:[${y.length}]`); }
        }
        for (const c of window.rx2p.node.routingTable.values()) for (const [k, v] of Object.entries(c)) { const y = v as any; if (y instanceof Map || y instanceof Set) out.push(`conn.${k}:${y.size}`); else if (Array.isArray(y)) out.push(`conn.${k}:[${y.length}]`); }
        return out.join(' ');
      }));
    }
    const heapAfter = await heap();
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 });
    console.log(`      ${FLOOD.toLocaleString()} broadcasts at 4× throttling: ${state.received.toLocaleString()} received in ${took} ms (${state.frames} frames drawn), expired ${state.stats.expired}, a skipped ${a.stats.relaysSkipped} relays; ${state.rows} rows, ${state.kept} kept; heap ${heapBefore.toFixed(1)} → ${heapAfter.toFixed(1)} MB after GC; input to next frame median ${median(state.delays).toFixed(0)} ms (max ${Math.max(...state.delays).toFixed(0)}, n=${state.delays.length}), key press round trip median ${median(presses)} ms`);
    expect(state.received).to.equal(FLOOD);
    expect(state.stats.expired + state.stats.queueDropped).to.equal(0);
    expect(state.last).to.equal(`flood ${FLOOD - 1}`);
    expect(state.count).to.equal(`${FLOOD.toLocaleString('en-US')} received`);
    expect(state.rows).to.be.at.most(500);
    expect(state.kept).to.be.at.most(1_000);
    expect(heapAfter - heapBefore).to.be.below(20);
    // The acceptance figure (under 200 ms) is asserted on the full run; a shorter default run on a loaded machine gets room.
    expect(median(state.delays)).to.be.below(process.env.RX2P_WEB_FLOOD ? 200 : 600);
  });

  it('re-joins a node that went away: input refused meanwhile, back within 10 s of its restart with b\'s broadcasts; closed tabs and dead nodes leave the topology', async () => {
    const fast = { webTopologyTimeoutMs: 3_000 };
    const a1 = await webNode(fast);
    const ports = { tcp: a1.address!.port, ws: a1.webSocketPort! };
    const b = await plainNode(fast);
    await link(a1, b); // b dialled a: b dials it again
    const tab = await openTab(a1);
    await tab.page.waitForFunction(() => document.getElementById('node-id').textContent.indexOf('not joined') < 0 && document.getElementById('node-id').textContent !== '…');

    await a1.close();
    made.splice(made.indexOf(a1), 1);
    await tab.page.waitForFunction(() => window.rx2p.node.routingTable.size === 0 && document.getElementById('send').disabled
      && document.getElementById('status').className === 'pill off', undefined, { timeout: 10_000 });
    const away = await tab.page.evaluate(() => document.getElementById('status').textContent as string);
    expect(away).to.match(/^not in the mesh \(the node went away\): re-joining in/);
    // Typed while away: not sent (the button is disabled, Enter submits nothing), left in the box.
    await tab.page.fill('#text', 'typed while away');
    await tab.page.press('#text', 'Enter');
    expect(await tab.page.inputValue('#text')).to.equal('typed while away');

    const restarted = Date.now();
    const a2 = await webNode(fast, ports);
    await waitFor(() => a2.routingTable.has(tab.id), 10_000, 'the tab back at the restarted node');
    const back = Date.now() - restarted;
    await waitFor(() => a2.routingTable.has(b.id), 10_000, 'b back at the restarted node');
    await tab.page.waitForFunction(() => document.getElementById('status').className === 'pill on' && !document.getElementById('send').disabled);
    b.send('after the restart');
    await tab.page.waitForFunction(() => window.rx2p.received.some((r: Seen) => r.text === 'after the restart'), undefined, { timeout: 10_000 });
    expect(await tab.page.evaluate(() => window.rx2p.received.filter((r: Seen) => r.text === 'typed while away').length)).to.equal(0);

    // A closed tab and a dead node leave b's topology (b knows both second-hand, through a2).
    const c = await plainNode(fast);
    await link(a2, c);
    const tab2 = await openTab(a2);
    const knows = (id: string) => b.topology.some((v) => v.id === id || v.peers.includes(id));
    await waitFor(() => knows(tab2.id) && knows(c.id), 10_000, 'b learns of tab2 and c');
    const gone = Date.now();
    await tab2.page.close();
    await c.close();
    made.splice(made.indexOf(c), 1);
    await waitFor(() => !knows(tab2.id) && !knows(c.id), 3_000 + 5_000, 'tab2 and c aged out of b\'s topology');
    const aged = Date.now() - gone;
    console.log(`      re-joined ${back} ms after the restart (away: "${away}"); a closed tab and a dead node left b's topology in ${aged} ms (webTopologyTimeoutMs 3,000)`);
    expect(back).to.be.below(10_000);
  });

  it('shows what a peer sent as the command does: controls and bidi overrides escaped, not acted on', async () => {
    const a = await webNode();
    const tab = await openTab(a);
    a.send('\u202eevil\u2066 \x1b[31mred\x07', { type: 'sub\u202e' });
    await tab.page.waitForFunction(() => document.querySelectorAll('#log li').length > 0, undefined, { timeout: 10_000 });
    const shown = await tab.page.evaluate(() => document.querySelector('#log li').textContent as string);
    expect(shown).to.include('\\u202eevil\\u2066 \\x1b[31mred\\x07');
    expect(shown).to.include('sub\\u202e');
    expect(await tab.page.evaluate(() => /[\u0000-\u001f\u202a-\u202e\u2066-\u2069]/.test(document.getElementById('log').textContent))).to.equal(false);
  });

  it('retries when the node\'s slots were full, and joins once one is free', async () => {
    // Slots held by half-open connections are taken back for a newcomer (eviction,
    // spec/hostile/backpressure.spec.ts); slots held by peers in the mesh are not: a tab
    // refused then must retry on its own.
    const a = await webNode({ maxConnections: 2 });
    const tab = await openTab(a);
    const b = await plainNode();
    const c = await plainNode();
    await b.connect('127.0.0.1', a.address!.port);
    await waitFor(() => a.routingTable.has(b.id) && a.routingTable.has(tab.id), 10_000, 'the tab and b in a\'s routing table');
    const refusedBefore = a.stats.errors.ERR_CONNECTION_LIMIT ?? 0;
    const started = Date.now();
    // The tab's slot goes to c before the tab re-joins (its first wait is at least 375 ms).
    await a.disconnect(tab.id);
    await c.connect('127.0.0.1', a.address!.port);
    await waitFor(() => a.routingTable.has(c.id), 5_000, 'c in the tab\'s slot');
    await waitFor(() => (a.stats.errors.ERR_CONNECTION_LIMIT ?? 0) > refusedBefore, 10_000, 'the tab refused for want of a slot');
    const refusedAt = Date.now() - started;
    const status = await tab.page.evaluate(() => document.getElementById('status').textContent as string);
    await c.close();
    made.splice(made.indexOf(c), 1);
    await waitFor(() => a.routingTable.has(tab.id), 15_000, 'the tab in once c left');
    console.log(`      slots full: refused after ${refusedAt} ms ("${status}"), joined after ${Date.now() - started} ms`);
  });
});
