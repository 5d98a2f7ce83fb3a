// The JSON fields peers send in control messages (addresses, compression lists), checked
// before use: a peer decides their content, so each has a shape and a size bound.

/** A packet as the latin1 string py2p compares ids and flags as. */
export const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

export function parseAddr(v: unknown): [string, number] {
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || v[0].length === 0 || v[0].length > 255
    || !Number.isInteger(v[1]) || v[1] < 0 || v[1] > 65535) {
    throw new Error('address must be [host, port]');
  }
  return [v[0], v[1]];
}

export function parseMethods(v: unknown): string[] {
  if (!Array.isArray(v) || v.length > 16 || v.some((m) => typeof m !== 'string' || m.length > 32)) {
    throw new Error('compression must be a short list of names');
  }
  return v as string[];
}

/** Two names for this machine (the same node dialled as 127.0.0.1 and as localhost). */
export function isLoopbackPair(a: string, b: string): boolean {
  const loop = (h: string) => h === 'localhost' || h === '::1' || h.startsWith('127.');
  return loop(a) && loop(b);
}
