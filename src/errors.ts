// Mesh-level errors: what can go wrong with peers, connections and the socket itself.
// Codec errors (bad frames, bad compression, ...) are the ProtocolError family in
// src/protocol/errors.ts. Callers branch on the class or on `code`, never on text.

// MeshError and MalformedControlError are defined in src/protocol/errors.ts, which the
// codec's repair packets need without importing from outside src/protocol; the same
// classes, re-exported here.
import { MeshError } from './protocol/errors.js';
export { MeshError, MalformedControlError } from './protocol/errors.js';

/** The peer's handshake named another protocol id (subnet, encryption or version differ). */
export class ProtocolMismatchError extends MeshError {
  constructor(
    /** This node's protocol id. */
    readonly expected: string,
    /** The protocol id the peer's handshake named. */
    readonly received: string,
  ) {
    super('ERR_PROTOCOL_MISMATCH', `peer speaks protocol ${received}, this node ${expected}`);
  }
}
/** A connection did not complete its handshake in time. */
export class HandshakeTimeoutError extends MeshError {
  constructor(ms: number) { super('ERR_HANDSHAKE_TIMEOUT', `no handshake within ${ms} ms`); }
}
/**
 * An SSL node's connection failed its TLS handshake: the peer spoke something else
 * (plain frames, HTTP, garbage), or TLS this node refuses. The cause is Node's error.
 */
export class TlsError extends MeshError {
  constructor(cause: Error) {
    const code = (cause as { code?: string }).code;
    super('ERR_TLS', `TLS handshake failed: ${code ? `${code}: ` : ''}${cause.message}`, { cause });
  }
}
/** A peer sent part of a frame and then nothing for too long (slowloris). */
export class FrameTimeoutError extends MeshError {
  constructor(ms: number) { super('ERR_FRAME_TIMEOUT', `an unfinished frame waited over ${ms} ms`); }
}
/** A handshake that cannot be read: bad JSON, wrong packet count, bad address. */
export class MalformedHandshakeError extends MeshError {
  constructor(detail: string) { super('ERR_MALFORMED_HANDSHAKE', `malformed handshake: ${detail}`); }
}
/** A frame whose main flag this node does not know. */
export class UnknownFlagError extends MeshError {
  constructor(flag: string) { super('ERR_UNKNOWN_FLAG', `unknown message type ${JSON.stringify(flag.slice(0, 32))}`); }
}
/** A peer that does not read: its unsent backlog passed the per-connection bound. */
export class SendBufferOverflowError extends MeshError {
  constructor(bytes: number, limit: number) { super('ERR_SEND_BUFFER_OVERFLOW', `peer backlog of ${bytes} bytes passed ${limit}`); }
}
/** Too many undecodable frames in a row on one connection. */
export class TooManyDecodeFailuresError extends MeshError {
  constructor(limit: number) { super('ERR_TOO_MANY_DECODE_FAILURES', `more than ${limit} undecodable frames in a row`); }
}
/**
 * A second connection in the same direction handshook with the id of a connected peer. Ids
 * are not authenticated, so the connection already working is kept and the newcomer closed.
 */
export class DuplicatePeerError extends MeshError {
  constructor(id: string) { super('ERR_DUPLICATE_PEER', `another connection claimed the id of connected peer ${id.slice(0, 16)}...: the first is kept`); }
}
/** A limit on connections was reached: the new one is refused. */
export class ConnectionLimitError extends MeshError {
  constructor(what: string, limit: number) { super('ERR_CONNECTION_LIMIT', `${what} limit of ${limit} reached`); }
}
/**
 * The awaiting or connection slots were full and a newcomer arrived: the oldest
 * connection still before its handshake (or its TLS or WebSocket upgrade) makes room.
 */
export class HalfOpenEvictedError extends MeshError {
  constructor(what: string, limit: number) { super('ERR_HALF_OPEN_EVICTED', `${what} limit of ${limit} reached: the oldest connection not yet handshaken made room for a newcomer`); }
}
/** A reply through request/response got no answer in time. */
export class RequestTimeoutError extends MeshError {
  constructor(target: string, ms: number) { super('ERR_REQUEST_TIMEOUT', `no route to ${target} found within ${ms} ms`); }
}
/** A whisper to a node no route can reach from here (a browser tab away from every rx2p peer, or any node from a tab): failed at once, no request sent. */
export class NoRouteError extends MeshError {
  constructor(target: string, why: string) { super('ERR_NO_ROUTE', `no route to ${target.slice(0, 16)}...: ${why}`); }
}
/** The pending request table is full. */
export class TooManyRequestsError extends MeshError {
  constructor(limit: number) { super('ERR_TOO_MANY_REQUESTS', `pending request limit of ${limit} reached`); }
}
/** The socket was closed while the operation was pending, or used after close. */
export class SocketClosedError extends MeshError {
  constructor() { super('ERR_SOCKET_CLOSED', 'the mesh socket is closed'); }
}
/** A peer closed or lost the connection before the operation finished. */
export class ConnectionClosedError extends MeshError {
  constructor(detail = 'connection closed') { super('ERR_CONNECTION_CLOSED', detail); }
}
/** A caller passed something the API cannot use. */
export class InvalidArgumentError extends MeshError {
  constructor(detail: string) { super('ERR_INVALID_ARGUMENT', detail); }
}

/**
 * A bug in rx2p met while handling one input. The router records it, drops the
 * connection the input came from (if any) and goes on serving the others.
 */
export class InternalError extends MeshError {
  constructor(cause: unknown) {
    super('ERR_INTERNAL', `internal error: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The data directory (option dataDir) cannot be read or written: the node goes on without it. */
export class DataDirError extends MeshError {
  constructor(detail: string, cause?: unknown) { super('ERR_DATA_DIR', `data directory: ${detail}`, { cause }); }
}

// ---------------------------------------------------------------- authenticated protocol

/**
 * The authenticated protocol (encryption 'Ed25519') refused a peer or a message. Each
 * condition is a subclass with its own code; `code` starts with ERR_AUTH.
 */
export class AuthenticationError extends MeshError {}
/** A handshake proof that does not verify: bad signature (another key, another TLS session: a replay or a man in the middle), or malformed. */
export class ProofError extends AuthenticationError {
  constructor(detail: string) { super('ERR_AUTH_PROOF', `handshake proof refused: ${detail}`); }
}
/** A peer whose public key does not hash to the id it claimed (a stolen id). */
export class IdentityMismatchError extends AuthenticationError {
  constructor(claimed: string) { super('ERR_AUTH_IDENTITY', `public key does not match claimed id ${claimed.slice(0, 16)}...`); }
}
/** A peer whose proof verified but whom the admission policy refuses (allow-list, callback, network key). */
export class NotAdmittedError extends AuthenticationError {
  constructor(id: string, why: string) { super('ERR_AUTH_NOT_ADMITTED', `peer ${id.slice(0, 16)}... not admitted: ${why}`); }
}
/** This node was refused: the peer closed the connection after this node's proof, before its own. */
export class AuthRefusedError extends AuthenticationError {
  constructor(remote: string) { super('ERR_AUTH_REFUSED', `peer ${remote} refused this node's proof`); }
}
/**
 * This node's proof was refused by the peer as bound to another TLS session: the
 * connection most likely runs through a TLS-terminating man in the middle (the peer
 * said so before closing; a refusal for any other reason is AuthRefusedError).
 */
export class SessionMismatchError extends AuthenticationError {
  constructor(remote: string) { super('ERR_AUTH_SESSION', `peer ${remote} found this node's proof bound to another TLS session: a man in the middle?`); }
}
/** A broadcast or waterfall whose origin signature is missing, malformed or does not verify. */
export class BadSignatureError extends AuthenticationError {
  constructor(detail: string) { super('ERR_AUTH_SIGNATURE', `message signature refused: ${detail}`); }
}
/** A direct message (whisper, peers, renegotiation) whose sender is not the connection's proven peer. */
export class SenderMismatchError extends AuthenticationError {
  constructor() { super('ERR_AUTH_SENDER', 'a direct message named a sender other than the connection\'s proven peer'); }
}
/** A peer that delivered more messages failing verification than maxBadSignatures. */
export class TooManyBadSignaturesError extends AuthenticationError {
  constructor(limit: number) { super('ERR_AUTH_TOO_MANY_BAD_SIGNATURES', `more than ${limit} messages failing signature verification`); }
}

/**
 * connect() could not reach the address: refused, unknown host, unreachable, reset or
 * timed out before any handshake. `syscallCode` keeps the system's code (`ECONNREFUSED`,
 * `ENOTFOUND`, …) and `cause` the original error, so a caller may retry on it.
 */
export class ConnectError extends MeshError {
  /** The system error code of the failure (`ECONNREFUSED`, `ENOTFOUND`, `ETIMEDOUT`, …), when there is one. */
  readonly syscallCode: string | undefined;
  constructor(
    /** The host that was dialled. */
    readonly host: string,
    /** The port that was dialled. */
    readonly port: number,
    cause: unknown,
  ) {
    const syscallCode = (cause as { code?: unknown } | null)?.code;
    const code = typeof syscallCode === 'string' ? syscallCode : undefined;
    const why = cause instanceof Error ? cause.message : String(cause);
    super('ERR_CONNECT', `cannot connect to ${host}:${port}: ${why}`, { cause });
    this.syscallCode = code;
  }
}
