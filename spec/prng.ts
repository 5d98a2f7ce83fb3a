// The specs and the bench draw from the simulation's PRNG: one generator, so a seed means the same run everywhere.
import { prng } from '../sim/prng.js';

export { prng };

/** n bytes drawn from `random` (incompressible, as crypto.randomBytes, but the same for the same seed). */
export function randomBuffer(random: () => number, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256);
  return out;
}
