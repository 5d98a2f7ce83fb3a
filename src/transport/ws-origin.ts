// Who may use a node's WebSocket port from a browser: the page's own origin, and the
// origins the user named (webSocket.origins, `--web-origin`). A page on another site
// that a user visits can make the user's browser open a WebSocket or fetch state.json
// on 127.0.0.1; the Origin header says which site asks. A DNS-rebinding page makes its
// own name resolve to 127.0.0.1, so its requests look same-origin: the Host header
// names it, and only Host values no rebinding can forge are answered (IP literals,
// `localhost`) besides the hosts of the named origins and of webSocket.url.

/** The host name (lower case, IPv6 without brackets) of a Host header value; undefined if malformed. */
export function hostName(host: string): string | undefined {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::\d{1,5})?$/i.exec(host.trim());
  return m ? (m[1] ?? m[2]!).toLowerCase() : undefined;
}

const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/;

/** The host of a URL (an origin, a ws:// URL), lower case, or undefined. */
export function urlHost(url: string): string | undefined {
  try {
    return hostName(new URL(url).host);
  } catch {
    return undefined;
  }
}

export class OriginPolicy {
  private readonly origins: Set<string>;
  private readonly hosts: Set<string>;

  /** `origins`: admitted besides the page's own; `names`: host names answered besides IP literals and localhost. */
  constructor(origins: readonly string[] = [], names: readonly string[] = []) {
    this.origins = new Set(origins.map(normalOrigin));
    this.hosts = new Set(names.map((n) => n.toLowerCase()));
    for (const o of origins) {
      const h = urlHost(o);
      if (h !== undefined) this.hosts.add(h);
    }
  }

  /** True for a Host header this node answers to. */
  hostAllowed(host: string | undefined): boolean {
    if (host === undefined) return false;
    const name = hostName(host);
    if (name === undefined) return false;
    return IPV4.test(name) || name.includes(':') || name === 'localhost' || this.hosts.has(name);
  }

  /**
   * True for an Origin admitted on a request whose Host was allowed: none (not a
   * browser: browsers always send one on WebSocket upgrades and cross-origin fetches),
   * the page's own origin (http(s):// + Host), or one of the named origins.
   */
  originAllowed(origin: string | undefined, host: string | undefined): boolean {
    if (origin === undefined) return true;
    const o = normalOrigin(origin);
    if (host !== undefined && (o === `http://${host.toLowerCase()}` || o === `https://${host.toLowerCase()}`)) return true;
    return this.origins.has(o);
  }
}

function normalOrigin(origin: string): string {
  return origin.trim().replace(/\/+$/, '').toLowerCase();
}
