// What `rx2p --web` serves on the node's WebSocket port: the page, its script and the
// library bundle (built from this package: no CDN), and state.json, the node's side
// channel to the page (its peers, stats and the topology it knows).
import { existsSync, readFileSync } from 'node:fs';
import type * as http from 'node:http';
import { join, sep } from 'node:path';
import type { MeshSocket } from '../mesh.js';
import { buildWeb, defaultOutDir } from './build.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};
const FILES = new Map([['/', 'index.html'], ['/index.html', 'index.html'], ['/app.js', 'app.js'], ['/rx2p.js', 'rx2p.js'], ['/style.css', 'style.css']]);

const FILES_BUILT = (dir: string) => [...new Set(FILES.values())].every((f) => existsSync(join(dir, f)));

/**
 * True when `dir` lies inside a node_modules directory: an installed copy of the package
 * (npm install, npx), which `rx2p --web` must never rebuild. A source checkout is anywhere else.
 */
export function isInstalled(dir: string): boolean {
  return dir.split(sep).includes('node_modules');
}

/** The node's state as the page reads it. */
export function nodeState(node: MeshSocket): unknown {
  return {
    id: node.id,
    wsUrl: node.webSocketUrl ?? null,
    peers: [...node.routingTable].map(([id, c]) => ({ id, addr: c.addr ?? null, outgoing: c.outgoing, webSocket: node.isWebSocketPeer(id) })),
    stats: node.stats,
    topology: node.topology,
  };
}

/**
 * Builds the page into outDir, then returns the request handler for
 * MeshOptions.webSocket.onRequest. `node()` is read per request (the handler exists
 * before the node does).
 */
export async function webPage(node: () => MeshSocket | undefined, outDir = defaultOutDir): Promise<(req: http.IncomingMessage, res: http.ServerResponse) => void> {
  if (outDir === defaultOutDir && isInstalled(outDir)) {
    // An installed package never writes into itself: it serves the dist-web/ it shipped with,
    // even where esbuild happens to resolve (a consumer that has tsx).
    if (!FILES_BUILT(outDir)) throw new Error(`the installed package has no built page in ${outDir}: reinstall rx2p`);
  } else {
    try {
      await buildWeb(outDir);
    } catch (err) {
      // A checkout without esbuild (dev dependencies not installed) serves what is built.
      if (!FILES_BUILT(outDir)) throw err;
    }
  }
  const files = new Map<string, Buffer>();
  for (const [path, file] of FILES) files.set(path, readFileSync(join(outDir, file)));
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/state.json') {
      const n = node();
      const body = JSON.stringify(n ? nodeState(n) : null);
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const body = files.get(path);
    if (body === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const file = FILES.get(path)!;
    res.writeHead(200, { 'content-type': TYPES[file.slice(file.lastIndexOf('.'))]!, 'content-length': body.length }).end(req.method === 'HEAD' ? undefined : body);
  };
}
