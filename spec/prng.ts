// The specs and the bench draw from the simulation's PRNG: one generator, so a seed means the same run everywhere.
export { prng } from '../sim/prng.js';
