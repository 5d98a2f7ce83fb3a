// npm run sim -- --nodes N --broadcasts B --seed S [...]: one simulated mesh, its report
// on stdout (the deterministic part first), and as JSON with --json FILE.
import { writeFileSync } from 'node:fs';
import { parseArgs, UsageError } from './args.js';
import { simulate, type SimReport } from './sim.js';
import { runCurves } from './curves.js';

export function formatReport(r: SimReport): string {
  const x = r.result;
  const c = r.config;
  const lines = [
    `rx2p mesh simulation: N=${c.nodes}, ${c.broadcasts} broadcasts, seed ${c.seed}, repair ${x.repair ? 'on' : 'off'}, churn ${c.churn}${c.partition ? `, partition ${c.partition.fraction}@${c.partition.startMs}-${c.partition.endMs}:${c.partition.mode}` : ''}`,
    `  delivery ratio          ${(x.deliveryRatio * 100).toFixed(3)} % (${x.deliveredOnce} of ${x.expected} exactly once; ${(x.deliveryRatioAllUp * 100).toFixed(3)} % of all nodes up)`,
    `  up for the whole window ${(x.deliveryRatioUpForWindow * 100).toFixed(3)} % (of ${x.expectedUpForWindow} node-messages up from send to the end; ${x.lostUpForWindow} lost)`,
    `  duplicates delivered    ${x.duplicatesDelivered}`,
    `  repair                  ${x.repair ? 'on' : 'off'}: ${x.repaired} delivered through repair; exchange ${x.repairTraffic.controlFrames} frames, ${x.repairTraffic.controlBytes} bytes; copies sent ${x.repairTraffic.answerFrames} frames, ${x.repairTraffic.answerBytes} bytes; ${x.repairTraffic.bytesPerNodePerSecond} B per node per s (${x.repairIdleBytesPerNodePerSecond} at idle)`,
    `  frames per broadcast    median ${x.framesPerBroadcast.median}, mean ${x.framesPerBroadcast.mean}, max ${x.framesPerBroadcast.max} (${x.framesPerNode} per node; its own frames only)`,
    `  bytes per broadcast     median ${x.bytesPerBroadcast.median}, mean ${x.bytesPerBroadcast.mean}`,
    `  hops to farthest node   median ${x.hopsToFarthest.median}, max ${x.hopsToFarthest.max}`,
    `  delivery time (virtual) p50 ${x.deliveryMs.p50} ms, p99 ${x.deliveryMs.p99} ms; full delivery p50 ${x.fullDeliveryMs.p50} ms, p99 ${x.fullDeliveryMs.p99} ms`,
    `  connections per node    min ${x.connectionsPerNode.min}, median ${x.connectionsPerNode.median}, max ${x.connectionsPerNode.max} (at end ${x.connectionsPerNodeAtEnd.min}/${x.connectionsPerNodeAtEnd.median}/${x.connectionsPerNodeAtEnd.max})`,
    `  graph connected         ${x.connected} (at end ${x.connectedAtEnd}, largest component ${(x.largestComponentAtEnd * 100).toFixed(2)} %); duplicate links ${x.duplicateLinks}, one-sided links ${x.asymmetricLinks}`,
    `  join traffic            ${x.joinFrames} frames, ${x.joinBytes} bytes; dials ${x.dials} (failed ${x.dialsFailed}), resets ${x.resets}`,
    `  errors                  ${JSON.stringify(x.errors)}`,
    `  virtual time            ${x.virtualMs} ms, ${x.schedulerActions} scheduled actions`,
    `measured (not deterministic): wall ${(r.measured.wallMs / 1000).toFixed(1)} s, heap ${r.measured.heapPerNodeBytes} B/node (${r.measured.heapUsedMB} MB), RSS ${r.measured.rssMB} MB (${r.measured.rssPerNodeKB} KB/node), peak ${r.measured.peakRssMB} MB`,
  ];
  return lines.join('\n');
}

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(err.message);
      process.exitCode = 2;
      return;
    }
    throw err;
  }
  if (args.curves) return runCurves(args.curves, args.config.seed ?? 1, { repair: args.config.repair, scenarios: args.scenarios });
  const report = await simulate(args.config);
  console.log(formatReport(report));
  if (args.json) writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
