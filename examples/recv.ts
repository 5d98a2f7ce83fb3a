// Request and reply with promises: `await recv()` on one node, `message.reply()` back.
//
//   npx tsx examples/recv.ts
import { MeshSocket } from 'rx2p';

const server = await MeshSocket.create('127.0.0.1', 0);
const client = await MeshSocket.create('127.0.0.1', 0);
await client.connect('127.0.0.1', server.outAddr[1]);

client.send('ping', 'what time is it?');

// recv(1, timeoutMs) resolves to one message, or undefined when the time is up.
const question = await server.recv(1, 5000);
if (!question) throw new Error('no question within 5 s');
console.log(`recv: server got "${question.text(2)}" (${question.text(1)}) from ${question.sender.slice(0, 10)}…`);

// reply() whispers to the original sender: directly here, since the two are connected.
await question.reply('pong', new Date(question.time * 1000).toISOString());
const answer = await client.recv(1, 5000);
if (!answer) throw new Error('no reply within 5 s');
const [subflag, ...packets] = answer.packets.map((p) => p.toString());
console.log(`recv: client got reply [${subflag}] ${packets.join(' ')}`);

// Any other quantity resolves to a list, with what there is once the timeout passes.
for (let i = 1; i <= 3; i++) client.send(`reading ${i}`);
const batch = await server.recv(3, 5000);
console.log(`recv: server got a batch of ${batch.length}: ${batch.map((m) => m.text(1)).join(', ')}`);

await Promise.all([server.close(), client.close()]);
console.log('recv: done');
