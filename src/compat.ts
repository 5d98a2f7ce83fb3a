// py2p 0.2 compatibility names (snake_case), in one place.
// Protocol part: defined in ./protocol/compat.ts, next to the codec it aliases,
// so that src/protocol never imports from outside itself (no import cycle when
// mesh aliases are added here).
export * from './protocol/compat.js';
export { compress, decompress } from './streams/zlib-codec.js';
export { get_lan_ip } from './host.js';

// The seed's class names from base.py and mesh.py, as their rx2p equivalents. py2p's
// daemon (a thread accepting and reading sockets) is rx2p's router actor; its
// connection is a Connection; its sockets are a MeshSocket (base_socket was the
// abstract parent of mesh_socket).
import { MeshSocket } from './mesh.js';
import { Router } from './actors/router.js';
import { Connection } from './streams/connection.js';

/** py2p's `base_socket`: rx2p's MeshSocket. */
export const base_socket = MeshSocket;
/** py2p's `base_socket`: rx2p's MeshSocket. */
export type base_socket = MeshSocket;
/** py2p's `base_daemon`: rx2p's Router. */
export const base_daemon = Router;
/** py2p's `base_daemon`: rx2p's Router. */
export type base_daemon = Router;
/** py2p's `mesh_daemon`: rx2p's Router. */
export const mesh_daemon = Router;
/** py2p's `mesh_daemon`: rx2p's Router. */
export type mesh_daemon = Router;
/** py2p's `base_connection`: rx2p's Connection. */
export const base_connection = Connection;
/** py2p's `base_connection`: rx2p's Connection. */
export type base_connection = Connection;
/** py2p's `mesh_connection`: rx2p's Connection. */
export const mesh_connection = Connection;
/** py2p's `mesh_connection`: rx2p's Connection. */
export type mesh_connection = Connection;

/** ssl_wrapper.py's python2-only list of temporary files: rx2p makes certificates in memory, so it stays empty. */
export const cleanup_files: readonly string[] = Object.freeze([]);
/** ssl_wrapper.py's python2-only cleanup(): nothing to remove. */
export function cleanup(): void {}
