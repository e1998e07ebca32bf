// `npm run bench` with the smallest samples, against the installed release: every section of
// the benchmark runs and prints its table, so the benchmark cannot rot between the runs that
// measure. No figure is asserted here (timings belong to the benchmark itself).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { repoRoot } from '../harness/manifests.js';
import { installedRelease } from '../harness/release.js';

const run = promisify(execFile);

describe('benchmark smoke run', () => {
  it('runs every section of npm run bench against the installed release', { timeout: 600_000 }, async () => {
    await installedRelease();
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'test/bench/run.ts'], {
      cwd: repoRoot,
      timeout: 540_000,
      maxBuffer: 16 << 20,
      env: {
        ...process.env,
        BENCH_COLD_CREATE: '1',
        BENCH_COLD_POOL: '1',
        BENCH_SEQUENTIAL: '20',
        BENCH_SECONDS: '1',
        BENCH_ENVIRONMENTS: '1,2',
        BENCH_BURST: '2',
        BENCH_REPLICAS: '2', // the sharded path: one upgrade to values-ha.yaml and back
        BENCH_KAFKA_RECORDS: '2000',
        BENCH_KAFKA_BATCH: '100',
        BENCH_WRITE: '0',
      },
    }).catch((err: { stdout?: string; stderr?: string; message: string }) =>
      assert.fail(`npm run bench failed: ${err.message}\n${err.stdout ?? ''}\n${err.stderr ?? ''}`),
    );
    console.log(stdout);
    assert.match(stdout, /Path measured: the installed Helm release/);
    for (const section of [
      '### Cold start',
      '### Warm invoke latency',
      '### Throughput',
      '### Scale-out',
      '### Records/s from Kafka',
    ]) {
      assert.ok(stdout.includes(section), `the report has its "${section}" table`);
    }
    assert.doesNotMatch(stdout, /\| n\/a \|/, 'every measured figure is a number');
  });
});
