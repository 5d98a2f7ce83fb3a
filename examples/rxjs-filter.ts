// Three nodes: a sensor and a display both join a hub. The sensor broadcasts readings;
// the display keeps the temperatures above 20 °C with RxJS operators on `messages$`.
// Each broadcast reaches the display once, whether the hub floods it on or the display
// has meanwhile dialled the sensor from the hub's peers list.
//
//   npx tsx examples/rxjs-filter.ts
import { filter, firstValueFrom, map, take, timeout, toArray } from 'rxjs';
import { MeshSocket } from 'rx2p';

const hub = await MeshSocket.create('127.0.0.1', 0);
const sensor = await MeshSocket.create('127.0.0.1', 0);
const display = await MeshSocket.create('127.0.0.1', 0);

// Both peers are known to the hub once it has seen two handshakes.
const joined = firstValueFrom(hub.events$.pipe(filter((e) => e.type === 'peer-connected'), take(2), toArray()));
await sensor.connect('127.0.0.1', hub.outAddr[1]);
await display.connect('127.0.0.1', hub.outAddr[1]);
await joined;

// messages$ is hot: subscribe (firstValueFrom does) before the messages are sent.
const hot = firstValueFrom(display.messages$.pipe(
  filter((m) => m.text(0) === 'broadcast' && m.text(1) === 'temperature'),
  map((m) => ({ celsius: Number(m.text(2)), from: m.sender })),
  filter((reading) => reading.celsius > 20),
  take(2),
  toArray(),
  timeout({ first: 5000 }),
));

for (const [kind, value] of [['temperature', '18.5'], ['humidity', '40'], ['temperature', '21.5'], ['temperature', '23.0']]) {
  sensor.send(kind!, value!); // each argument is one packet; the subflag 'broadcast' comes first
}

const readings = await hot;
for (const r of readings) {
  console.log(`rxjs-filter: display got ${r.celsius} °C from ${r.from === sensor.id ? 'the sensor' : r.from}`);
}
await Promise.all([hub, sensor, display].map((node) => node.close()));
console.log(`rxjs-filter: done, ${readings.length} hot readings`);
