// rx2p: a reactive TypeScript mesh socket, wire-compatible with py2p 0.2.
export * from './protocol/index.js';
export { pyJsonDumps } from './protocol/pyjson.js';
export * from './errors.js';
export { MeshSocket, mesh_socket, meshDefaultProtocol, max_outgoing } from './mesh.js';
export type { SendOptions, MeshEvent, Packet, RouterStats } from './mesh.js';
export { defaultOptions, type MeshOptions } from './options.js';
export { Connection, type ConnectionEvent } from './streams/connection.js';
export { socketBytes$ } from './streams/socket-bytes.js';
export { deframe } from './streams/deframe.js';
export { inflate } from './streams/inflate.js';
export { parseMessage, type ParsedFrame } from './streams/parse.js';
export { generateSelfSignedCert, generate_self_signed_cert, get_socket, getSocketOptions, type CertificatePair } from './streams/tls.js';
export { Router } from './actors/router.js';
export { WaterfallCache } from './actors/waterfall-cache.js';
export { RepairStore } from './actors/repair-store.js';
export { REPAIR_CAPABILITY, REPAIR_SUBFLAG } from './protocol/repair-wire.js';
