// Real browsers in the mesh: headless Chromium (Debian's, through playwright-core) opens
// the page `rx2p --web` serves; each tab joins over WebSocket as a peer of its own.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { MeshSocket, type Message } from '../../src/index.js';
import { webPage } from '../../src/web/server.js';
import { Nodes, link, waitFor } from '../helpers.js';
import { launchChromium, type Browser } from './browser.js';
import { py2pPeersList } from './py2p-peer.js';

/** Where the specs leave files for a person to look at (the screenshot). */
const ARTIFACTS = join(process.cwd(), 'tmp', 'artifacts');

// These names exist in the page, where the functions given to evaluate() run.
declare const window: any; // eslint-disable-line @typescript-eslint/no-explicit-any
declare const document: { querySelectorAll(selector: string): { length: number } };

interface Seen { sender: string; subflag: string; text: string; whisper: boolean; mine: boolean }

describe('browsers in the mesh (headless Chromium)', function () {
  this.timeout(60_000);
  const nodes = new Nodes();
  let browser: Browser | undefined;
  let buildDir: string;
  const pageErrors: Error[] = [];

  before(async () => {
    buildDir = mkdtempSync(join(tmpdir(), 'rx2p-web-'));
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    rmSync(buildDir, { recursive: true, force: true });
  });
  afterEach(() => nodes.closeAll());

  async function webNode(): Promise<MeshSocket> {
    let self: MeshSocket | undefined;
    const onRequest = await webPage(() => self, buildDir);
    self = await nodes.make({ webSocket: { port: 0, onRequest } });
    return self;
  }

  async function openTab(node: MeshSocket): Promise<{ page: Page; id: string }> {
    const page = await browser!.context.newPage();
    page.on('pageerror', (err) => { pageErrors.push(err); });
    if (process.env.RX2P_DEBUG_PAGE) page.on('console', (m) => console.log('[page]', m.text()));
    await page.goto(`http://127.0.0.1:${node.webSocketPort}/`);
    await page.waitForFunction(() => (window as any).rx2p?.node.routingTable.size > 0, undefined, { timeout: 10_000 });
    const id = await page.evaluate(() => (window as any).rx2p.node.id as string);
    return { page, id };
  }

  const seenBy = (page: Page): Promise<Seen[]> =>
    page.evaluate(() => ((window as any).rx2p.received as Seen[]).filter((r) => !r.mine));
  const texts = (list: Array<{ text: string }>, text: string) => list.filter((m) => m.text === text).length;
  const nodeTexts = (got: Message[], text: string) => got.filter((m) => m.text(1) === text).length;

  it('two tabs and two nodes: broadcasts reach everyone once, a whisper one tab only, a closed tab is a disconnect', async () => {
    const a = await webNode();
    const b = await webNode();
    await link(a, b);
    const gotA: Message[] = [];
    const gotB: Message[] = [];
    a.messages$.subscribe((m) => gotA.push(m));
    b.messages$.subscribe((m) => gotB.push(m));
    const tab1 = await openTab(a);
    const tab2 = await openTab(b);
    expect(a.isWebSocketPeer(tab1.id)).to.equal(true);
    expect(b.isWebSocketPeer(tab2.id)).to.equal(true);

    // Each broadcast is followed by a marker from the same tab: once the marker is
    // everywhere, a duplicate of the first would have had its chance to arrive.
    const everywhere = async (text: string, tabs: Page[], at = [gotA, gotB]) => {
      await waitFor(() => at.every((got) => nodeTexts(got, text) > 0), 10_000, `${text} at the nodes`);
      for (const p of tabs) await p.waitForFunction((t) => (window as any).rx2p.received.some((r: Seen) => r.text === t && !r.mine), text);
    };
    await tab1.page.evaluate(() => (window as any).rx2p.node.send('hello from tab 1'));
    await tab1.page.evaluate(() => (window as any).rx2p.node.send('marker 1'));
    await everywhere('marker 1', [tab2.page]);
    await tab2.page.evaluate(() => (window as any).rx2p.node.send('hello from tab 2'));
    await tab2.page.evaluate(() => (window as any).rx2p.node.send('marker 2'));
    await everywhere('marker 2', [tab1.page]);
    a.send('hello from node a');
    await everywhere('hello from node a', [tab1.page, tab2.page], [gotB]);

    const seen1 = await seenBy(tab1.page);
    const seen2 = await seenBy(tab2.page);
    expect(texts(seen2, 'hello from tab 1'), 'tab 2 got tab 1 once').to.equal(1);
    expect(texts(seen1, 'hello from tab 2'), 'tab 1 got tab 2 once').to.equal(1);
    expect(texts(seen1, 'hello from tab 1'), 'tab 1 not its own').to.equal(0);
    expect(texts(seen1, 'hello from node a') + texts(seen2, 'hello from node a')).to.equal(2);
    for (const t of ['hello from tab 1', 'hello from tab 2']) {
      expect(nodeTexts(gotA, t), `a got ${t} once`).to.equal(1);
      expect(nodeTexts(gotB, t), `b got ${t} once`).to.equal(1);
    }
    expect(seen2.find((m) => m.text === 'hello from tab 1')!.sender).to.equal(tab1.id);

    // A whisper from a node reaches that tab and no other.
    await a.whisper(tab1.id, 'for tab 1 only');
    await tab1.page.waitForFunction(() => (window as any).rx2p.received.some((r: Seen) => r.text === 'for tab 1 only' && r.whisper));
    b.send('marker 3');
    await everywhere('marker 3', [tab2.page], [gotA]);
    expect(texts(await seenBy(tab2.page), 'for tab 1 only')).to.equal(0);
    expect(nodeTexts(gotB, 'for tab 1 only')).to.equal(0);

    // Browsers are never in a py2p peers list; their ids are in the topology the page draws.
    const listed = await py2pPeersList(a);
    expect(listed).to.include(b.id);
    expect(listed).to.not.include(tab1.id);
    expect(listed).to.not.include(tab2.id);
    expect(a.topology[0]!.peers).to.include(tab1.id);

    // The page, as a person sees it (kept as a test artifact).
    mkdirSync(ARTIFACTS, { recursive: true });
    await tab1.page.waitForFunction(() => document.querySelectorAll('#graph circle').length >= 4);
    await tab1.page.setViewportSize({ width: 1280, height: 860 });
    await tab1.page.screenshot({ path: join(ARTIFACTS, 'web.png'), fullPage: true });

    // A closed tab is a disconnect at the nodes it had joined.
    const joined = [a, b].filter((n) => n.routingTable.has(tab2.id));
    expect(joined).to.include(b);
    await tab2.page.close();
    await waitFor(() => joined.every((n) => !n.routingTable.has(tab2.id)), 10_000, 'tab 2 seen gone');
    expect(a.routingTable.has(tab1.id)).to.equal(true);
    // close() in the page ends its connections as the Node API's does.
    await tab1.page.evaluate(() => window.rx2p.node.close());
    await waitFor(() => !a.routingTable.has(tab1.id) && !b.routingTable.has(tab1.id), 10_000, 'tab 1 closed its node');
    expect(await tab1.page.evaluate(() => window.rx2p.node.routingTable.size)).to.equal(0);
    await tab1.page.close();
    expect(pageErrors).to.deep.equal([]);
  });
  it('large messages both ways: compressed (pako in the page) and of 1 MiB or more (WebCrypto digest)', async () => {
    const a = await webNode();
    const gotA: Message[] = [];
    a.messages$.subscribe((m) => gotA.push(m));
    const tab = await openTab(a);
    // 200 KB of text compresses (gzip negotiated; node:zlib at the node, pako in the page);
    // 1.2 MiB has its de-duplication digest computed through WebCrypto on both sides.
    const mid = 'json:' + '{"reading":21.5,"unit":"C"},'.repeat(7_000);
    const big = 'big:' + 'abcdefghij'.repeat(120_000);
    a.send(mid);
    a.send(big);
    await tab.page.waitForFunction((n) => (window as any).rx2p.received.filter((r: Seen) => !r.mine && r.text.length > 100_000).length >= n, 2, { timeout: 20_000 });
    const lengths = await tab.page.evaluate(() => ((window as any).rx2p.received as Seen[]).filter((r) => !r.mine).map((r) => r.text.length));
    expect(lengths.filter((l) => l === mid.length)).to.have.length(1);
    expect(lengths.filter((l) => l === big.length)).to.have.length(1);
    await tab.page.evaluate((t) => (window as any).rx2p.node.send(t), big.replace('big:', 'back:'));
    await waitFor(() => gotA.some((m) => (m.text(1) ?? '').startsWith('back:')), 20_000, 'the page\'s 1.2 MiB broadcast at the node');
    expect(gotA.filter((m) => (m.text(1) ?? '').startsWith('back:'))[0]!.text(1)!.length).to.equal(big.length + 1);
    await tab.page.close();
    expect(pageErrors).to.deep.equal([]);
  });
});
