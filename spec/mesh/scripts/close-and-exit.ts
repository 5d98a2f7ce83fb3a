// Builds a small mesh over Plaintext and SSL, exchanges messages, closes every node and
// then does nothing: the process must exit by itself (nothing left holding the loop).
import { MeshSocket, Protocol } from '../../../src/index.js';

for (const encryption of ['Plaintext', 'SSL']) {
  const protocol = new Protocol('mesh', encryption);
  const [a, b, c] = await Promise.all([0, 1, 2].map(() => MeshSocket.create('127.0.0.1', 0, { protocol })));
  await b!.connect('127.0.0.1', a!.outAddr[1]);
  await c!.connect('127.0.0.1', b!.outAddr[1]);
  const pending = c!.recv(5, 60_000); // left waiting: close() must settle it and clear its timer
  a!.send('x');
  await Promise.all([a!.close(), b!.close(), c!.close()]);
  const got = await pending;
  console.log(`${encryption} closed with ${got.length} message(s)`);
}
