// The page `rx2p --web` serves: this tab joins the node as a mesh peer of its own (over
// WebSocket, at the address the page came from) and shows the mesh as it goes.
// Messages are drawn in batches, once per animation frame, and only the last HISTORY
// are kept; the tab re-joins its node with backoff when it goes away; whatever a peer
// sent is escaped as the command escapes it (controls, bidi overrides) before it is shown.
import { MeshSocket, type Message, type NodeView } from '../browser.js';
import { safeText } from '../../cli/format.js';

interface NodeState {
  id: string;
  wsUrl: string | null;
  peers: Array<{ id: string; addr: [string, number] | null; outgoing: boolean; webSocket: boolean }>;
  stats: { framesIn: number; framesOut: number; delivered: number; duplicates: number; relaysSkipped: number; connectionsRefused: number; errors: Record<string, number> };
  topology: NodeView[];
}

interface Seen { sender: string; subflag: string; text: string; time: number; whisper: boolean; mine: boolean }

/** Messages kept, and rows shown: older ones are let go. */
const HISTORY = 500;
/** Characters of a message body drawn (the whole text stays in `received`). */
const BODY_CHARS = 2_000;
/** Re-joining the node: first wait, and the longest (doubled per failure, with jitter). */
const REJOIN_MIN_MS = 500;
const REJOIN_MAX_MS = 4_000;

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const short = (id: string) => safeText(id.length > 10 ? `${id.slice(0, 8)}…` : id);
const svgNs = 'http://www.w3.org/2000/svg';
// Made once: toLocale*String() builds a formatter on every call, too slow for every row.
const clock = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
const numbers = new Intl.NumberFormat('en-US');

/**
 * Message ids the tab keeps for de-duplication (the library's default is 100,000): a
 * tab's copies of one message come from its one or two nodes within moments, and each
 * id kept costs the tab about 1.3 KB of heap, so this bounds it near 13 MB.
 */
const DEDUP_IDS = 10_000;
// Messages go to messages$ only: nothing fills a recv() queue no one reads.
const node = new MeshSocket({ queueMessages: false, waterfallCacheSize: DEDUP_IDS });
/** The last messages (at most 2 × HISTORY between trims); the specs read them. */
const received: Seen[] = [];
/** Counts since the page opened: messages from peers, batches drawn. */
const counts = { received: 0, frames: 0 };
/** Delay from a key press to the next frame drawn after it, ms (the last 200). */
const inputDelays: number[] = [];
let served: NodeState | undefined;
/** The id of the node this tab joined at the page's address, while joined. */
let home: string | undefined;
// The specs drive the page through these.
Object.assign(window, { rx2p: { node, received, counts, inputDelays } });

$('my-id').textContent = short(node.id);
$('my-id').title = node.id;

const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
let attempt = 0;
let rejoinTimer: ReturnType<typeof setTimeout> | undefined;

/** Joins the page's node; on failure (gone, slots full, refused) tries again with backoff. */
async function join(): Promise<void> {
  rejoinTimer = undefined;
  setStatus(false, attempt === 0 ? 'connecting' : `re-joining (attempt ${attempt + 1})`);
  const before = new Set(node.routingTable.keys());
  try {
    await node.connect(url);
    home = [...node.routingTable.keys()].find((id) => !before.has(id)) ?? served?.id;
    attempt = 0;
    setStatus(true, 'in the mesh');
    renderAll();
  } catch (err) {
    rejoin((err as Error).message);
  }
}

function rejoin(why: string): void {
  if (node.closed || rejoinTimer !== undefined) return;
  const wait = Math.min(REJOIN_MAX_MS, REJOIN_MIN_MS * 2 ** attempt) * (0.75 + Math.random() / 2);
  attempt++;
  const others = node.routingTable.size;
  setStatus(others > 0, `${others > 0 ? `in the mesh through ${others} other peer(s)` : 'not in the mesh'} (${why}): re-joining in ${(wait / 1000).toFixed(1)} s`);
  rejoinTimer = setTimeout(() => void join(), wait);
}

node.events$.subscribe((event) => {
  if (event.type === 'error') console.warn('rx2p:', event.error.message, (event.error as { cause?: Error }).cause?.stack ?? '');
  if (event.type !== 'error') renderPeers();
  if (event.type === 'peer-disconnected' && (event.id === home || node.routingTable.size === 0)) {
    home = undefined;
    rejoin('the node went away');
  }
});

node.messages$.subscribe((m: Message) => {
  const whisper = m.msg.msgType === 'whisper';
  counts.received++;
  addMessage({ sender: m.sender, subflag: m.text(0) ?? '', text: m.packets.slice(1).map((p) => p.toString('utf8')).join(' · '), time: m.time, whisper, mine: false });
});

function setStatus(on: boolean, text: string): void {
  const pill = $('status');
  pill.textContent = safeText(text);
  pill.className = on ? 'pill on' : 'pill off';
  $<HTMLButtonElement>('send').disabled = node.routingTable.size === 0;
}

// ------------------------------------------------------------------ the message list, in batches

let pending: Seen[] = [];
let drawScheduled = false;

function addMessage(seen: Seen): void {
  received.push(seen);
  if (received.length > 2 * HISTORY) received.splice(0, received.length - HISTORY);
  pending.push(seen);
  if (pending.length > 2 * HISTORY) pending.splice(0, pending.length - HISTORY);
  if (!drawScheduled) {
    drawScheduled = true;
    requestAnimationFrame(draw);
  }
}

/** Once per frame: the new rows in one append, the oldest beyond HISTORY removed, one layout. */
function draw(): void {
  drawScheduled = false;
  counts.frames++;
  const batch = pending.length > HISTORY ? pending.slice(-HISTORY) : pending;
  pending = [];
  const log = $('log');
  const rows = document.createDocumentFragment();
  for (const seen of batch) rows.append(row(seen));
  if (batch.length >= HISTORY) log.replaceChildren(rows);
  else log.append(rows);
  for (let extra = log.children.length - HISTORY; extra > 0; extra--) log.firstElementChild!.remove();
  log.scrollTop = log.scrollHeight;
  renderCount();
}

function row(seen: Seen): HTMLLIElement {
  const li = document.createElement('li');
  li.className = `${seen.whisper ? 'whisper' : ''} ${seen.mine ? 'mine' : ''}`;
  const body = seen.text.length > BODY_CHARS ? `${seen.text.slice(0, BODY_CHARS)}… (${numbers.format(seen.text.length)} characters)` : seen.text;
  const cells: Array<[string, string, string?]> = [
    ['time', clock.format(seen.time * 1000)],
    ['from', seen.mine ? 'this tab' : short(seen.sender), safeText(seen.sender)],
    ['sub', seen.whisper ? 'whisper' : safeText(seen.subflag)],
    ['body', safeText(body)],
  ];
  for (const [cls, text, title] of cells) {
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = text;
    if (title) span.title = title;
    li.append(span);
  }
  return li;
}

/** How many messages came, and how many were lost if any ever were (too late, or not relayed). */
function renderCount(): void {
  const lost = node.stats.expired + node.stats.queueDropped;
  const count = $('msg-count');
  count.textContent = `${numbers.format(counts.received)} received${lost ? `, ${numbers.format(lost)} lost` : ''}`;
  count.className = lost ? 'lost' : '';
}

$('text').addEventListener('keydown', (e) => {
  const pressed = e.timeStamp;
  requestAnimationFrame(() => {
    inputDelays.push(performance.now() - pressed);
    if (inputDelays.length > 200) inputDelays.shift();
  });
});

$('compose').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $<HTMLInputElement>('text').value;
  const target = $<HTMLSelectElement>('target').value;
  const subflag = $<HTMLInputElement>('subflag').value.trim() || 'broadcast';
  const now = Math.floor(Date.now() / 1000);
  if (node.routingTable.size === 0) {
    // Refused, visibly, and kept in the box to send again.
    addMessage({ sender: node.id, subflag: 'not sent', text: `not sent (this tab is not in the mesh): ${text}`, time: now, whisper: false, mine: true });
    return;
  }
  if (target) {
    node.whisper(target, text).catch((err: Error) => addMessage({ sender: node.id, subflag: 'error', text: `whisper to ${short(target)} failed: ${err.message}`, time: now, whisper: true, mine: true }));
    addMessage({ sender: node.id, subflag: 'whisper', text: `to ${short(target)}: ${text}`, time: now, whisper: true, mine: true });
  } else {
    node.send(text, { type: subflag });
    addMessage({ sender: node.id, subflag, text, time: now, whisper: false, mine: true });
  }
  $<HTMLInputElement>('text').value = '';
});

function renderPeers(): void {
  const list = $('peers');
  list.replaceChildren();
  const select = $<HTMLSelectElement>('target');
  const chosen = select.value;
  select.replaceChildren(new Option('broadcast to everyone', ''));
  for (const [id] of node.routingTable) {
    const li = document.createElement('li');
    li.innerHTML = '<i class="dot node"></i><code></code><span class="kind">WebSocket</span>';
    li.querySelector('code')!.textContent = short(id);
    li.title = safeText(id);
    list.append(li);
  }
  // Only targets a whisper can reach: peers, and the peers of the nodes this tab joined.
  const targets = node.reachable();
  for (const id of targets) select.append(new Option(`whisper to ${short(id)}`, id));
  select.value = targets.includes(chosen) ? chosen : '';
  if (list.children.length === 0) list.innerHTML = '<li class="empty">no peers yet</li>';
  $<HTMLButtonElement>('send').disabled = node.routingTable.size === 0;
}

function allViews(): NodeView[] {
  const views = new Map<string, NodeView>();
  // What the node serving the page says counts only while this tab is joined to it.
  if (served !== undefined && home === served.id) for (const v of served.topology) views.set(v.id, v);
  for (const v of node.topology) views.set(v.id, v);
  return [...views.values()];
}

// ------------------------------------------------------------------ the node's side channel

async function poll(): Promise<void> {
  try {
    const res = await fetch('state.json', { cache: 'no-store' });
    served = res.ok ? await res.json() as NodeState : undefined;
  } catch {
    served = undefined; // the node is gone; the status pill says so already
  }
  renderAll();
}

function renderAll(): void {
  renderStats();
  renderGraph();
  renderPeers();
  renderCount();
}

function renderStats(): void {
  if (!served) {
    $('node-id').textContent = 'unreachable';
    $('stats').replaceChildren();
    return;
  }
  // A node that answers at the page's address but that this tab has not joined (yet) is named so.
  $('node-id').textContent = home === served.id ? short(served.id) : `${short(served.id)} (not joined)`;
  $('node-id').title = safeText(served.id);
  const s = served.stats;
  const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
  const rows: Array<[string, number]> = [
    ['peers', served.peers.length], ['frames in', s.framesIn], ['frames out', s.framesOut],
    ['delivered', s.delivered], ['duplicates', s.duplicates], ['errors', errors],
  ];
  const dl = $('stats');
  dl.replaceChildren(...rows.map(([k, v]) => {
    const div = document.createElement('div');
    div.innerHTML = '<dt></dt><dd></dd>';
    div.querySelector('dt')!.textContent = k;
    div.querySelector('dd')!.textContent = v.toLocaleString();
    return div;
  }));
}

// ------------------------------------------------------------------ the graph

const positions = new Map<string, { x: number; y: number }>();

function renderGraph(): void {
  const views = allViews();
  const kinds = new Map<string, string>();
  const edges = new Set<string>();
  for (const v of views) {
    kinds.set(v.id, v.id === node.id ? 'tab' : v.browser ? 'browser' : 'node');
    for (const p of v.peers) {
      if (!kinds.has(p)) kinds.set(p, p === node.id ? 'tab' : 'node');
      edges.add(v.id < p ? `${v.id} ${p}` : `${p} ${v.id}`);
    }
  }
  for (const v of views) if (v.browser && v.id !== node.id) kinds.set(v.id, 'browser');
  const ids = [...kinds.keys()];
  layout(ids, [...edges].map((e) => e.split(' ') as [string, string]));
  const svg = $('graph') as unknown as SVGSVGElement;
  svg.replaceChildren();
  for (const e of edges) {
    const [a, b] = e.split(' ');
    const pa = positions.get(a!)!;
    const pb = positions.get(b!)!;
    const line = document.createElementNS(svgNs, 'line');
    line.setAttribute('x1', String(pa.x)); line.setAttribute('y1', String(pa.y));
    line.setAttribute('x2', String(pb.x)); line.setAttribute('y2', String(pb.y));
    svg.append(line);
  }
  for (const id of ids) {
    const p = positions.get(id)!;
    const g = document.createElementNS(svgNs, 'g');
    const c = document.createElementNS(svgNs, 'circle');
    c.setAttribute('cx', String(p.x)); c.setAttribute('cy', String(p.y));
    c.setAttribute('r', kinds.get(id) === 'node' ? '15' : '11');
    c.setAttribute('class', kinds.get(id)!);
    const title = document.createElementNS(svgNs, 'title');
    title.textContent = safeText(id);
    const label = document.createElementNS(svgNs, 'text');
    label.setAttribute('x', String(p.x)); label.setAttribute('y', String(p.y + 30));
    label.textContent = id === node.id ? 'this tab' : safeText(id === served?.id ? `${id.slice(0, 6)} (served)` : id.slice(0, 6));
    g.append(c, title, label);
    svg.append(g);
  }
  $('graph-note').textContent = `${ids.length} known, ${edges.size} links`;
}

/** A small force layout: springs on links, repulsion between all, kept in the frame. */
function layout(ids: string[], links: Array<[string, string]>): void {
  const W = 600, H = 420;
  ids.forEach((id, i) => {
    if (!positions.has(id)) {
      const a = (2 * Math.PI * i) / Math.max(ids.length, 1);
      positions.set(id, { x: W / 2 + 140 * Math.cos(a), y: H / 2 + 120 * Math.sin(a) });
    }
  });
  for (const id of [...positions.keys()]) if (!ids.includes(id)) positions.delete(id);
  for (let step = 0; step < 120; step++) {
    const force = new Map(ids.map((id) => [id, { x: 0, y: 0 }]));
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        const a = positions.get(ids[i]!)!, b = positions.get(ids[j]!)!;
        const dx = a.x - b.x || 0.1, dy = a.y - b.y || 0.1;
        const d2 = Math.max(dx * dx + dy * dy, 100);
        const f = 30000 / d2;
        const d = Math.sqrt(d2);
        force.get(ids[i]!)!.x += (f * dx) / d; force.get(ids[i]!)!.y += (f * dy) / d;
        force.get(ids[j]!)!.x -= (f * dx) / d; force.get(ids[j]!)!.y -= (f * dy) / d;
      }
    }
    for (const [a, b] of links) {
      const pa = positions.get(a)!, pb = positions.get(b)!;
      const dx = pb.x - pa.x, dy = pb.y - pa.y;
      const d = Math.sqrt(dx * dx + dy * dy) || 1;
      const f = (d - 210) * 0.05;
      force.get(a)!.x += (f * dx) / d; force.get(a)!.y += (f * dy) / d;
      force.get(b)!.x -= (f * dx) / d; force.get(b)!.y -= (f * dy) / d;
    }
    for (const id of ids) {
      const p = positions.get(id)!, f = force.get(id)!;
      p.x = Math.min(W - 40, Math.max(40, p.x + Math.max(-10, Math.min(10, f.x + (W / 2 - p.x) * 0.006))));
      p.y = Math.min(H - 40, Math.max(30, p.y + Math.max(-10, Math.min(10, f.y + (H / 2 - p.y) * 0.006))));
    }
  }
}

renderPeers();
void join();
void poll();
setInterval(() => void poll(), 1000);
