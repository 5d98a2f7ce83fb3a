import { Observable } from 'rxjs';
import type { Duplex } from 'node:stream';

/**
 * The bytes a socket receives, as a cold Observable: next per 'data' chunk,
 * complete on a clean close, error on a socket error. Unsubscribing detaches
 * the listeners and leaves the socket to its owner.
 */
export function socketBytes$(socket: Duplex): Observable<Buffer> {
  return new Observable<Buffer>((subscriber) => {
    let failure: Error | undefined;
    const onData = (chunk: Buffer) => subscriber.next(chunk);
    const onError = (err: Error) => { failure ??= err; };
    const onClose = () => (failure ? subscriber.error(failure) : subscriber.complete());
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    return () => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
  });
}
