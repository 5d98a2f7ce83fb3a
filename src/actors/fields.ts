// The fields peers send in control messages, checked before use: a peer decides their
// content, so each has a shape and a size bound (the parsers: src/protocol/bounds.ts).

/** A packet as the latin1 string py2p compares ids and flags as. */
export const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');

export { parseAddr, parseMethods } from '../protocol/bounds.js';

/** Two names for this machine (the same node dialled as 127.0.0.1 and as localhost). */
export function isLoopbackPair(a: string, b: string): boolean {
  const loop = (h: string) => h === 'localhost' || h === '::1' || h.startsWith('127.');
  return loop(a) && loop(b);
}
