// rx2p: a reactive TypeScript mesh socket, wire-compatible with py2p 0.2.
export * from './protocol/index.js';
// compress and decompress with the node's engine (its states kept, released when idle),
// over src/protocol's, which take one as an argument; getLanIp reads the host.
export { compress, decompress, IdleReleasingZlib } from './streams/zlib-codec.js';
export { getLanIp, get_lan_ip } from './host.js';
export { pyJsonDumps } from './protocol/pyjson.js';
export * from './errors.js';
export { MeshSocket, mesh_socket, meshDefaultProtocol, max_outgoing } from './mesh.js';
export { MeshFacade } from './socket-facade.js';
export { base_socket, base_daemon, mesh_daemon, base_connection, mesh_connection, cleanup_files, cleanup } from './compat.js';
export type { SendOptions, MeshEvent, Packet, RouterStats } from './mesh.js';
export { defaultOptions, type MeshOptions } from './options.js';
export { Connection, type ConnectionEvent } from './streams/connection.js';
export { FrameWriter } from './streams/frame-writer.js';
export { socketBytes$ } from './transport/socket-bytes.js';
export { deframe } from './streams/deframe.js';
export { inflate } from './streams/inflate.js';
export { parseMessage, type ParsedFrame } from './streams/parse.js';
export { generateSelfSignedCert, generate_self_signed_cert, get_socket, getSocketOptions, type CertificatePair } from './transport/certificates.js';
export { TcpTransport, type TcpTransportOptions } from './transport/tcp.js';
export { TlsTransport, type TlsTransportOptions } from './transport/tls.js';
export { MemoryNetwork, MemoryTransport, MemoryConnection, MemoryNetError, type MemoryNetworkOptions, type NetworkCounters, type PartitionMode } from './transport/memory.js';
export { HeapScheduler } from './transport/virtual-scheduler.js';
export type { Transport, TransportConnection, Listener, ListenerNotice, PendingConnection, BoundAddress } from './transport/transport.js';
export { Router, RouterState, type RouterComponent, type RouterExtension, type ComponentContext, type Stages, type SubflagHandler } from './actors/router.js';
export { WaterfallCache } from './actors/waterfall-cache.js';
export { AUTH_ENCRYPTION, isAuthenticated } from './trust/protocol.js';
export {
  generateIdentity, loadIdentity, identityFromFile, identityPem, idOfPublicKey, publicKeyFromRaw, rawPublicKeyOf,
  type Identity, type IdentityInput,
} from './trust/identity.js';
export { allowListIds, parseAllowFile, type AllowEntry, type AdmitPolicy, type PeerCredentials } from './trust/admission.js';
export { WsTransport, WsConnection, parseWsUrl, type WebSocketLike, type WsTransportOptions } from './transport/ws.js';
export * from './transport/ws-errors.js';
export type { WebSocketOptions } from './transport/ws-options.js';
export { WebDirectory, WEB_SUBFLAG, type NodeView } from './actors/web.js';
export { RepairStore } from './actors/repair-store.js';
export { REPAIR_CAPABILITY, REPAIR_SUBFLAG } from './protocol/repair-wire.js';
export { RX2P_CAPABILITY } from './actors/capability.js';
