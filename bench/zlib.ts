// npx tsx bench/zlib.ts [--ms N]: rx2p's defaults (node:zlib on the thread pool for
// bodies of 64 KiB and more) against all-synchronous pako (asyncZlibMinBytes: 0), on
// compressible JSON floods of several sizes between worker processes (N=3), and
// compression off for reference. Prints MB/s per receiver and wire bytes per message.
import { parseArgs } from 'node:util';
import { Placement, throughput } from './workloads.js';

const { values } = parseArgs({ options: { ms: { type: 'string', default: '1500' } } });
const ms = Number(values.ms);
const place = new Placement('procs', true);
try {
  // One unmeasured flood first: the workers' first large buffers take slower paths.
  await throughput(place, 'rx2p', 'gzip', 3, 64 * 1024, 300, undefined, 'json');
  for (const size of [4 * 1024, 64 * 1024, 1024 * 1024]) {
    for (const [label, variant, zlib] of [
      ['defaults (node:zlib >= 64 KiB)', 'gzip', {}],
      ['pako only (asyncZlibMinBytes 0)', 'gzip', { asyncZlibMinBytes: 0 }],
      ['compression off', 'plain', {}],
    ] as const) {
      const r = await throughput(place, 'rx2p', variant, 3, size, ms, undefined, 'json', { zlib });
      console.log(`JSON ${size / 1024} KiB, ${label}: ${r.mbPerSec.toFixed(1)} MB/s per receiver, ${Math.round(r.msgsPerSec)} msg/s, ${Math.round(r.wireBytesPerMsg)} wire bytes/msg (2 peers)`);
    }
  }
} finally {
  await place.close();
}
