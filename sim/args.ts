import type { PartitionMode } from '../src/transport/memory.js';
import type { PartitionPlan, SimConfig } from './sim.js';

export interface RunArgs {
  config: Partial<SimConfig>;
  json?: string;
  /** Run the scale matrix (N = 10 … 10,000) and write sim/README.md's table and chart. */
  curves?: number[];
  /** With --curves: only the scenarios whose name starts with one of these words. */
  scenarios?: string[];
}

const USAGE = `usage: npm run sim -- --nodes N --broadcasts B --seed S [--churn R] [--partition F@START-END[:reset|stall]]
       [--latency MIN-MAX] [--bandwidth BYTES_PER_MS|0] [--join-interval MS] [--bootstrap K] [--interval MS]
       [--payload BYTES] [--repair on|off] [--tail MS] [--json FILE]
       npm run sim -- --curves 10,100,1000,10000 [--seed S] [--repair on|off] [--scenarios steady,churn,partition]
         (the scale table and chart in sim/README.md)`;

export class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\n${USAGE}`);
  }
}

function int(name: string, v: string | undefined, min = 0): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min) throw new UsageError(`${name} must be an integer >= ${min}, got ${v}`);
  return n;
}

function fraction(name: string, v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !(n >= 0 && n <= 1)) throw new UsageError(`${name} must be a number in [0, 1], got ${v}`);
  return n;
}

/** `0.5@4000-12000` or `0.5@4000-12000:stall`: a fraction of the nodes cut off from START to END ms after the first broadcast. */
export function parsePartition(v: string | undefined): PartitionPlan {
  const m = /^([0-9.]+)@(\d+)-(\d+)(?::(reset|stall))?$/.exec(v ?? '');
  if (!m) throw new UsageError(`--partition must look like 0.5@4000-12000[:reset|stall], got ${v}`);
  const plan = { fraction: fraction('--partition fraction', m[1]), startMs: Number(m[2]), endMs: Number(m[3]), mode: (m[4] ?? 'reset') as PartitionMode };
  if (plan.endMs <= plan.startMs) throw new UsageError('--partition must end after it starts');
  return plan;
}

export function parseArgs(argv: readonly string[]): RunArgs {
  const config: Partial<SimConfig> = {};
  const out: RunArgs = { config };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--nodes': config.nodes = int(flag, value(), 1); break;
      case '--broadcasts': config.broadcasts = int(flag, value(), 1); break;
      case '--seed': config.seed = int(flag, value()); break;
      case '--churn': config.churn = fraction(flag, value()); break;
      case '--partition': config.partition = parsePartition(value()); break;
      case '--latency': {
        const m = /^(\d+)-(\d+)$/.exec(value());
        if (!m || Number(m[2]) < Number(m[1])) throw new UsageError('--latency must be MIN-MAX in ms');
        config.latencyMs = [Number(m[1]), Number(m[2])];
        break;
      }
      case '--bandwidth': {
        const n = int(flag, value());
        config.bytesPerMs = n === 0 ? Infinity : n;
        break;
      }
      case '--join-interval': config.joinIntervalMs = int(flag, value(), 1); break;
      case '--bootstrap': config.bootstrap = int(flag, value(), 1); break;
      case '--interval': config.broadcastIntervalMs = int(flag, value(), 1); break;
      case '--payload': config.payloadBytes = int(flag, value(), 1); break;
      case '--repair': {
        const v = value();
        if (v !== 'on' && v !== 'off') throw new UsageError(`--repair must be on or off, got ${v}`);
        config.repair = v === 'on';
        break;
      }
      case '--tail': config.tailMs = int(flag, value()); break;
      case '--json': out.json = value(); break;
      case '--scenarios': out.scenarios = value().split(','); break;
      case '--curves': out.curves = value().split(',').map((s) => int('--curves', s, 2)); break;
      case '--help': case '-h': throw new UsageError('');
      default: throw new UsageError(`unknown argument ${flag}`);
    }
  }
  return out;
}
