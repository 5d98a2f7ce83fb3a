// The authenticated protocol: node ids from Ed25519 keys, an allow-list, and every
// message's sender proven (`message.verified`). An outsider's key is refused.
//
//   npx tsx examples/authenticated.ts
import { AUTH_ENCRYPTION, generateIdentity, MeshSocket, Protocol } from 'rx2p';

const protocol = new Protocol('mesh', AUTH_ENCRYPTION);
// Keys would normally come from files (the command's --identity, or loadIdentity(pem)).
const alice = generateIdentity();
const bob = generateIdentity();
const members = [alice.publicKey, bob.publicKey];

const a = await MeshSocket.create('127.0.0.1', 0, { protocol, identity: alice.privateKey, allow: members });
const b = await MeshSocket.create('127.0.0.1', 0, { protocol, identity: bob.privateKey, allow: members });
console.log(`authenticated: a's id is the hash of its key: ${a.id === alice.id}`);

await b.connect('127.0.0.1', a.outAddr[1]);
b.send('signed by bob');
const m = await a.recv(1, 5000);
if (!m) throw new Error('no message within 5 s');
console.log(`authenticated: a got "${m.text(1)}" from bob: ${m.sender === bob.id}, verified: ${m.verified}`);

// A node whose key is not on the allow-list cannot join.
const outsider = await MeshSocket.create('127.0.0.1', 0, { protocol });
const refused = await outsider.connect('127.0.0.1', a.outAddr[1]).then(() => 'joined', (err: { code?: string }) => err.code);
console.log(`authenticated: the outsider was refused: ${refused}`);

await Promise.all([a.close(), b.close(), outsider.close()]);
console.log('authenticated: done');
