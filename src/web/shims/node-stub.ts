// Every other Node built-in in the browser bundle. The browser build reaches none of
// them at run time (no listening, no TCP dialling, no TLS); a call that would is an error.
const unavailable = (name: string) => () => {
  throw new Error(`${name} is not available in the browser build`);
};

export const connect = unavailable('node:net connect');
export const createServer = unavailable('node:net createServer');
export const createRequire = unavailable('node:module createRequire');
export const writeFileSync = unavailable('node:fs writeFileSync');
export const networkInterfaces = (): Record<string, never[]> => ({});
export default {};
// node:fs as the authenticated protocol's identity file uses it (never in a browser).
export const readFileSync = unavailable('node:fs readFileSync');
export const openSync = unavailable('node:fs openSync');
export const writeSync = unavailable('node:fs writeSync');
export const closeSync = unavailable('node:fs closeSync');
export const chmodSync = unavailable('node:fs chmodSync');
// node:fs and node:path as the key-file rules use them (trust/identity.ts; never in a browser).
export const constants: Record<string, number> = {};
export const fchmodSync = unavailable('node:fs fchmodSync');
export const fstatSync = unavailable('node:fs fstatSync');
export const fsyncSync = unavailable('node:fs fsyncSync');
export const linkSync = unavailable('node:fs linkSync');
export const lstatSync = unavailable('node:fs lstatSync');
export const unlinkSync = unavailable('node:fs unlinkSync');
export const basename = unavailable('node:path basename');
export const dirname = unavailable('node:path dirname');
export const join = unavailable('node:path join');
