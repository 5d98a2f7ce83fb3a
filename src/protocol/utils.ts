import { networkInterfaces } from 'node:os';

/** Current unix time in whole seconds (UTC), as py2p's getUTC(). */
export function getUTC(): number {
  return Math.floor(Date.now() / 1000);
}

/** Items of `a` that are also in `b`, in `a`'s order. Like py2p's intersect(),
 *  a missing (null/undefined) or empty list on either side gives []. */
export function intersect<T>(a: readonly T[] | null | undefined, b: readonly T[] | null | undefined): T[] {
  if (!a || !b || a.length === 0 || b.length === 0) return [];
  return a.filter((item) => b.includes(item));
}

/**
 * This host's first non-internal IPv4 address, else "127.0.0.1". Unlike py2p
 * (which connects a UDP socket towards 8.8.8.8), it sends no traffic.
 */
export function getLanIp(): string {
  const ifaces = networkInterfaces();
  for (const name of Object.keys(ifaces)) {
    for (const info of ifaces[name] ?? []) {
      // Node 18.0-18.3 reported family as a number.
      const family = info.family as string | number;
      if ((family === 'IPv4' || family === 4) && !info.internal) return info.address;
    }
  }
  return '127.0.0.1';
}
