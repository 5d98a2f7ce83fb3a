// Two mesh nodes in one process: connect, broadcast, receive with RxJS and with
// `await recv()`, reply, meet a typed error, close.   npx tsx examples/quickstart.ts
import { filter, firstValueFrom } from 'rxjs';
import { ConnectError, MeshSocket } from 'rx2p';

const alice = await MeshSocket.create('127.0.0.1', 0); // port 0: a free one; resolves once listening
const bob = await MeshSocket.create('127.0.0.1', 0);
console.log(`quickstart: alice listens on port ${alice.outAddr[1]}`);

// Peers joining and leaving, and every error met (MeshError or ProtocolError, with a `code`).
bob.events$.subscribe((e) => {
  if (e.type === 'peer-connected') console.log(`quickstart: bob connected to ${e.id === alice.id ? 'alice' : e.id}`);
  if (e.type === 'error') console.error(`quickstart: bob met ${e.error.message}`);
});

await bob.connect('127.0.0.1', alice.outAddr[1]); // true once the handshake is done

// messages$: every message received, once, in arrival order (hot: subscribe first).
const greeting = firstValueFrom(alice.messages$.pipe(filter((m) => m.text(0) === 'broadcast')));
bob.send('hello', 'mesh'); // one packet per argument, after the subflag 'broadcast'
const m = await greeting;
console.log(`quickstart: alice got "${m.text(1)} ${m.text(2)}" from ${m.sender === bob.id ? 'bob' : m.sender}`);

// recv(): the same messages from a bounded queue, as py2p's recv(); reply() whispers back.
const queued = await alice.recv(1, 5000);
await queued?.reply('hi', 'bob');
const answer = await bob.recv(1, 5000);
console.log(`quickstart: bob got [${answer?.packets.map(String).join(', ')}]`);

// An address nobody listens on rejects with a typed error that keeps the system's code.
try {
  await bob.connect('127.0.0.1', 1);
} catch (err) {
  if (err instanceof ConnectError) console.log(`quickstart: ${err.code} (${err.syscallCode})`);
}

await Promise.all([alice.close(), bob.close()]); // every socket, timer and stream ended
console.log('quickstart: done');
