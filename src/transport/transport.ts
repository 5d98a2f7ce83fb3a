// The seam between the mesh and whatever carries its bytes. The router, the connection
// pipeline and MeshSocket see only these types: TCP and TLS (node:net, node:tls) are two
// implementations in this folder; an in-process one (no sockets, virtual time) or a
// WebSocket one plugs in through MeshOptions.transport.
//
// The contract is that of an ordered, reliable byte stream per connection. Framing,
// handshakes, limits and timeouts are the mesh's business, above the seam; what is
// below it is how bytes move, how a connection is opened, and how it ends.
import type { Observable } from 'rxjs';

/** The address a listener is bound to (port 0 asked for: the port picked). */
export interface BoundAddress {
  /** The bound IP address. */
  address: string;
  /** The bound port (the one the OS chose, for port 0). */
  port: number;
  /** `'IPv4'` or `'IPv6'`, where the transport knows it. */
  family?: string;
}

/**
 * One connection's byte stream, either end. Its owner (a mesh Connection) is its only
 * reader; writes are whole chunks, in order.
 */
export interface TransportConnection {
  /**
   * The bytes received, chunk by chunk, in order; completes when the connection has
   * closed cleanly, errors (once closed) when it failed, a failed dial included. One
   * subscriber; bytes that arrive before it subscribes are held for it.
   */
  readonly bytes$: Observable<Uint8Array>;
  /**
   * Flow control: no more bytes on bytes$ until resume(); the medium stops reading, so
   * that the sender is slowed by its own transport (TCP's window) rather than buffered
   * here. The built-in transports have it (one shared ByteSource, which also yields
   * the medium after 64 KiB in one turn of the event loop); one without it is read as
   * fast as it delivers.
   */
  pause?(): void;
  /** Ends a pause(): the medium is read again and bytes$ goes on where it stopped. */
  resume?(): void;
  /**
   * Queues one chunk. True while the backlog (writableLength) is below
   * writableHighWaterMark; false means: wait for onceDrain before writing much more.
   * Writes before a dialled connection is established are queued, not refused.
   */
  write(chunk: Uint8Array): boolean;
  /** Queues chunks end to end as one write where the transport can (a gathered write). */
  writev(chunks: readonly Uint8Array[]): boolean;
  /** Bytes queued and not yet handed to the medium. */
  readonly writableLength: number;
  /** The back-pressure mark write() compares writableLength with. */
  readonly writableHighWaterMark: number;
  /** Calls listener once, the next time a backlog that made write() return false is written out. */
  onceDrain(listener: () => void): void;
  /** Ends the connection after what is queued is written (a graceful close). */
  end(): void;
  /** Ends the connection at once, dropping what is queued; error, if given, is bytes$'s. */
  destroy(error?: Error): void;
  /** True once destroy() was called or the connection closed. */
  readonly destroyed: boolean;
  /** The peer's address (kept after the connection closes; undefined until a dial connects). */
  readonly remoteAddress: string | undefined;
  /** The peer's port, when known. */
  readonly remotePort: number | undefined;
  /** Resolves once the connection is closed, however it ended. Never rejects. */
  readonly closed: Promise<void>;
  /**
   * False for an accepted peer that cannot be dialled back at the address it gives (a
   * browser over WebSocket): it is never named in peers lists or responses. Default true.
   */
  readonly listed?: boolean;
  /** The medium's own object (a net.Socket for TCP and TLS), for diagnostics only. */
  readonly raw?: unknown;
}

/**
 * A connection the listener accepted that is not ready for the mesh yet: its
 * transport-level handshake (TLS) is in progress. The mesh counts these against its
 * limits (maxAwaiting, maxConnections) and may refuse one by destroying it.
 */
export interface PendingConnection {
  /** The peer's address, when known. */
  readonly remoteAddress: string | undefined;
  /** The peer's port, when known. */
  readonly remotePort: number | undefined;
  /** Closes the connection at once. */
  destroy(): void;
  /** Resolves once the connection is closed, however it ended. */
  readonly closed: Promise<void>;
}

/** What a listener reports besides ready connections. */
export type ListenerNotice =
  /** A connection accepted, its transport handshake begun (only transports that have one). */
  | { type: 'pending'; conn: PendingConnection }
  /** That handshake failed or timed out: error is typed (TlsError, HandshakeTimeoutError). */
  | { type: 'pending-failed'; conn: PendingConnection; error: Error }
  /** The listener itself failed after it was bound. */
  | { type: 'error'; error: Error };

/** A bound listening socket of a Transport: accepted connections, notices, close(). */
export interface Listener {
  /** The address and port the listener is bound to. */
  readonly address: BoundAddress;
  /** Connections ready for the mesh protocol, as they arrive. Never errors; completes on close(). */
  readonly accepted$: Observable<TransportConnection>;
  /** Pending connections, failed transport handshakes and listener errors. Never errors. */
  readonly notices$: Observable<ListenerNotice>;
  /** Stops accepting and destroys every connection it accepted that is still open. */
  close(): Promise<void>;
}

/**
 * A way of carrying bytes between nodes. Liveness settings (TCP keepalive, a
 * WebSocket ping) and security settings (certificates) are given when it is made.
 */
export interface Transport {
  /** A short name for messages: 'tcp', 'tls', 'memory', 'ws'. */
  readonly name: string;
  /** Binds (host, port); port 0 picks a free one. Rejects if it cannot bind. */
  listen(host: string, port: number): Promise<Listener>;
  /**
   * Opens a connection to (host, port) and returns it at once, still connecting:
   * the mesh writes its handshake straight away (queued until connected), and a
   * failure to connect ends bytes$ with an error. Never throws for an unreachable peer.
   */
  dial(host: string, port: number): TransportConnection;
}
