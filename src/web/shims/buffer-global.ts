// The browser bundle's `Buffer`: the userland `buffer` package (the codec is written
// against Buffer; esbuild injects this wherever the bundle names the global).
export { Buffer } from 'buffer';
