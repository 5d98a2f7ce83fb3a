// py2p 0.2 compatibility names (snake_case), in one place.
// Protocol part: defined in ./protocol/compat.ts, next to the codec it aliases,
// so that src/protocol never imports from outside itself (no import cycle when
// mesh aliases are added here).
export * from './protocol/compat.js';
