import { Observable } from 'rxjs';
import type { Duplex } from 'node:stream';
import { ByteSource, READ_BUDGET_BYTES } from './byte-source.js';

export { READ_BUDGET_BYTES };

/**
 * The bytes a socket receives, as a cold Observable: next per 'data' chunk,
 * complete on a clean close, error on a socket error, under the per-turn read budget
 * (the shared ByteSource every transport uses). Unsubscribing detaches the listeners
 * and leaves the socket to its owner.
 */
export function socketBytes$(socket: Duplex, budget = READ_BUDGET_BYTES): Observable<Buffer> {
  return new Observable<Buffer>((subscriber) => {
    let failure: Error | undefined;
    const source = new ByteSource({
      pause: () => { if (!socket.destroyed) socket.pause(); },
      resume: () => { if (!socket.destroyed) socket.resume(); },
    }, { budget });
    const onData = (chunk: Buffer) => source.push(chunk);
    const onError = (err: Error) => { failure ??= err; };
    const onClose = () => source.end(failure);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    const sub = (source.bytes$ as Observable<Buffer>).subscribe(subscriber);
    return () => {
      sub.unsubscribe();
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
    };
  });
}
