import { Observable } from 'rxjs';
import type { Duplex } from 'node:stream';

/**
 * Bytes one connection may hand on in one turn of the event loop. libuv reads a ready
 * socket up to 32 times (64 KiB each) before it returns to timers and other sockets: a
 * peer flooding small frames had a node decode ~2 MiB of them, half a second of work,
 * per turn (spec/hostile/flood.spec.ts). Past this budget the socket is paused until
 * the next turn (setImmediate), so other peers and timers get their share.
 */
export const READ_BUDGET_BYTES = 64 * 1024;

/**
 * The bytes a socket receives, as a cold Observable: next per 'data' chunk,
 * complete on a clean close, error on a socket error. Unsubscribing detaches
 * the listeners and leaves the socket to its owner.
 */
export function socketBytes$(socket: Duplex, budget = READ_BUDGET_BYTES): Observable<Buffer> {
  return new Observable<Buffer>((subscriber) => {
    let failure: Error | undefined;
    let turnBytes = 0;
    let yielding: NodeJS.Immediate | undefined;
    const nextTurn = () => {
      yielding = undefined;
      turnBytes = 0;
      if (!socket.destroyed) socket.resume();
    };
    const onData = (chunk: Buffer) => {
      subscriber.next(chunk);
      turnBytes += chunk.length;
      if (turnBytes >= budget && yielding === undefined && !socket.destroyed) {
        socket.pause();
        yielding = setImmediate(nextTurn);
      }
    };
    const onError = (err: Error) => { failure ??= err; };
    const onClose = () => (failure ? subscriber.error(failure) : subscriber.complete());
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    return () => {
      if (yielding !== undefined) clearImmediate(yielding);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
  });
}
