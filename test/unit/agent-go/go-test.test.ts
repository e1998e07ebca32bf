// The Go agent's own unit tests (runtime-image/agent-go, `go test ./...`) in the unit tier:
// Go is required to build the agent, so its absence fails here rather than being skipped.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const moduleDir = fileURLToPath(new URL('../../../runtime-image/agent-go', import.meta.url));

function go(args: string[]): { status: number | null; output: string } {
  const result = spawnSync('go', args, {
    cwd: moduleDir,
    encoding: 'utf8',
    env: { ...process.env, CGO_ENABLED: '0' },
  });
  if (result.error)
    throw new Error(`go ${args.join(' ')} could not run (is Go installed?): ${result.error.message}`);
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the Go agent', () => {
  it('passes go vet and its unit tests', () => {
    const vet = go(['vet', './...']);
    assert.equal(vet.status, 0, vet.output);
    const test = go(['test', '-count=1', './...']);
    assert.equal(test.status, 0, test.output);
  });

  it('is formatted by gofmt', () => {
    const fmt = spawnSync('gofmt', ['-l', '.'], { cwd: moduleDir, encoding: 'utf8' });
    if (fmt.error) throw new Error(`gofmt could not run: ${fmt.error.message}`);
    assert.equal(fmt.stdout, '', `not gofmt-formatted:\n${fmt.stdout}`);
  });
});
