// BullMQ's no-op rate on a given Redis, the yardstick of `./bench/run.sh queue` (see bench/README.md).
// Usage: node bench/bullmq/noop.cjs PREFIX PORT JOBS CONCURRENCY
//   PREFIX: the folder bullmq was installed into (npm install --prefix PREFIX bullmq@5).
// Adds JOBS jobs in bulk (1,000 per addBulk), then starts a Worker with CONCURRENCY whose processor does
// nothing, and times from the worker's start to the last 'completed' event. Prints one JSON line.
const path = require('path');
const [prefix, port, jobsArg, concurrencyArg] = process.argv.slice(2);
const { Queue, Worker } = require(path.resolve(prefix, 'node_modules', 'bullmq'));
const connection = { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null };
const jobs = Number(jobsArg);
const concurrency = Number(concurrencyArg);
const name = 'wharf-bench-' + process.pid;

async function main() {
  const queue = new Queue(name, { connection });
  await queue.waitUntilReady();
  const addStart = process.hrtime.bigint();
  for (let from = 0; from < jobs; from += 1000) {
    const batch = [];
    for (let i = from; i < Math.min(jobs, from + 1000); i++) {
      batch.push({ name: 'noop', data: { i }, opts: { removeOnComplete: true, removeOnFail: true } });
    }
    await queue.addBulk(batch);
  }
  const addSeconds = Number(process.hrtime.bigint() - addStart) / 1e9;
  let completed = 0;
  let failed = 0;
  let resolveDone;
  const done = new Promise((resolve) => { resolveDone = resolve; });
  const start = process.hrtime.bigint();
  const worker = new Worker(name, async () => {}, { connection, concurrency, autorun: false });
  worker.on('completed', () => {
    if (++completed + failed === jobs) resolveDone();
  });
  worker.on('failed', () => {
    if (completed + ++failed === jobs) resolveDone();
  });
  worker.run();
  const timeout = setTimeout(() => resolveDone(), 600000);
  await done;
  clearTimeout(timeout);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  console.log(JSON.stringify({ jobs, concurrency, completed, failed, seconds, perSecond: completed / seconds, addSeconds }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
