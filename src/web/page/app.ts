// The page `rx2p --web` serves: this tab joins the node as a mesh peer of its own (over
// WebSocket, at the address the page came from) and shows the mesh as it goes.
import { MeshSocket, type Message, type NodeView } from '../browser.js';

interface NodeState {
  id: string;
  wsUrl: string | null;
  peers: Array<{ id: string; addr: [string, number] | null; outgoing: boolean; webSocket: boolean }>;
  stats: { framesIn: number; framesOut: number; delivered: number; duplicates: number; relaysSkipped: number; connectionsRefused: number; errors: Record<string, number> };
  topology: NodeView[];
}

interface Seen { sender: string; subflag: string; text: string; time: number; whisper: boolean; mine: boolean }

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const short = (id: string) => (id.length > 10 ? `${id.slice(0, 8)}…` : id);
const svgNs = 'http://www.w3.org/2000/svg';

const node = new MeshSocket();
const received: Seen[] = [];
let served: NodeState | undefined;
// The specs drive the page through these.
Object.assign(window, { rx2p: { node, received } });

$('my-id').textContent = short(node.id);
$('my-id').title = node.id;

const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
node.connect(url).catch((err: Error) => setStatus(false, err.message));

node.events$.subscribe((event) => {
  if (event.type === 'error') console.warn('rx2p:', event.error.message, (event.error as { cause?: Error }).cause?.stack ?? '');
  if (event.type !== 'error') renderPeers();
  if (event.type === 'peer-disconnected' && node.routingTable.size === 0) setStatus(false, 'disconnected');
  if (event.type === 'peer-connected') setStatus(true, 'in the mesh');
});

node.messages$.subscribe((m: Message) => {
  const whisper = m.msg.msgType === 'whisper';
  addMessage({ sender: m.sender, subflag: m.text(0) ?? '', text: m.packets.slice(1).map((p) => p.toString('utf8')).join(' · '), time: m.time, whisper, mine: false });
});

function setStatus(on: boolean, text: string): void {
  const pill = $('status');
  pill.textContent = text;
  pill.className = on ? 'pill on' : 'pill off';
}

function addMessage(seen: Seen): void {
  received.push(seen);
  const li = document.createElement('li');
  li.className = `${seen.whisper ? 'whisper' : ''} ${seen.mine ? 'mine' : ''}`;
  const cells: Array<[string, string, string?]> = [
    ['time', new Date(seen.time * 1000).toLocaleTimeString([], { hour12: false })],
    ['from', seen.mine ? 'this tab' : short(seen.sender), seen.sender],
    ['sub', seen.whisper ? `whisper` : seen.subflag],
    ['body', seen.text],
  ];
  for (const [cls, text, title] of cells) {
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = text;
    if (title) span.title = title;
    li.append(span);
  }
  const log = $('log');
  log.append(li);
  while (log.children.length > 500) log.firstElementChild!.remove();
  log.scrollTop = log.scrollHeight;
  $('msg-count').textContent = String(received.filter((r) => !r.mine).length);
}

$('compose').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = $<HTMLInputElement>('text').value;
  const target = $<HTMLSelectElement>('target').value;
  const subflag = $<HTMLInputElement>('subflag').value.trim() || 'broadcast';
  const now = Math.floor(Date.now() / 1000);
  if (target) {
    node.whisper(target, text).catch((err: Error) => addMessage({ sender: node.id, subflag: 'error', text: err.message, time: now, whisper: true, mine: true }));
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
  const known = new Set<string>();
  for (const [id] of node.routingTable) {
    const li = document.createElement('li');
    li.innerHTML = `<i class="dot node"></i><code></code><span class="kind">WebSocket</span>`;
    li.querySelector('code')!.textContent = short(id);
    li.title = id;
    list.append(li);
    known.add(id);
  }
  for (const v of allViews()) known.add(v.id);
  known.delete(node.id);
  for (const id of known) select.append(new Option(`whisper to ${short(id)}`, id));
  select.value = [...known].includes(chosen) ? chosen : '';
  if (list.children.length === 0) list.innerHTML = '<li class="empty">no peers yet</li>';
}

function allViews(): NodeView[] {
  const views = new Map<string, NodeView>();
  for (const v of served?.topology ?? []) views.set(v.id, v);
  for (const v of node.topology) views.set(v.id, v);
  return [...views.values()];
}

// ------------------------------------------------------------------ the node's side channel

async function poll(): Promise<void> {
  try {
    const res = await fetch('state.json', { cache: 'no-store' });
    if (res.ok) served = await res.json() as NodeState;
  } catch {
    // the node is gone; the status pill says so already
  }
  renderStats();
  renderGraph();
  renderPeers();
}

function renderStats(): void {
  if (!served) return;
  $('node-id').textContent = short(served.id);
  $('node-id').title = served.id;
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
    title.textContent = id;
    const label = document.createElementNS(svgNs, 'text');
    label.setAttribute('x', String(p.x)); label.setAttribute('y', String(p.y + 30));
    label.textContent = id === node.id ? 'this tab' : id === served?.id ? `${id.slice(0, 6)} (served)` : id.slice(0, 6);
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
void poll();
setInterval(() => void poll(), 1000);
