// What rx2p asks of the host it runs on, kept out of the wire codec (src/protocol
// imports no OS module): its LAN address.
import { networkInterfaces } from 'node:os';

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

/** py2p's get_lan_ip: getLanIp. */
export const get_lan_ip = getLanIp;
