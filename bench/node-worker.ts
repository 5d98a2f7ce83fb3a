// A bench node in its own process: one Agent, driven by the bench over IPC.
//   request  { id, method, args }   →   reply { id, ok: true, value } | { id, ok: false, error }
//   { exit: true } stops the node and ends the process.
import { Agent, type AgentMethod } from './agent.js';

interface Request { id: number; method: AgentMethod; args: unknown[] }

const agent = new Agent();
const send = (m: unknown) => process.send!(m);

process.on('message', (raw: Request | { exit: true }) => {
  if ('exit' in raw) {
    void agent.stop().finally(() => process.disconnect());
    return;
  }
  const { id, method, args } = raw;
  Promise.resolve()
    .then(() => (agent[method] as (...a: unknown[]) => unknown)(...args))
    .then(
      (value) => send({ id, ok: true, value }),
      (err: unknown) => send({ id, ok: false, error: err instanceof Error ? err.stack ?? err.message : String(err) }),
    );
});
// The parent going away ends this process too.
process.on('disconnect', () => {
  void agent.stop().finally(() => process.exit(0));
});
send({ ready: true, pid: process.pid });
