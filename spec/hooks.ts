// Root hooks: any unhandled rejection or uncaught exception anywhere in the run fails it.
const problems: unknown[] = [];
const onProblem = (err: unknown) => { problems.push(err); };

export const mochaHooks = {
  beforeAll() {
    process.on('unhandledRejection', onProblem);
    process.on('uncaughtException', onProblem);
  },
  afterAll() {
    process.off('unhandledRejection', onProblem);
    process.off('uncaughtException', onProblem);
    if (problems.length) {
      throw new Error(`unhandled during the run: ${problems.map((p) => (p instanceof Error ? p.stack : String(p))).join('\n')}`);
    }
  },
};
