#!/usr/bin/env node
// The one test entrypoint: `npm test` runs every tier in order and provisions what each
// tier needs (the control plane for integration, the local cluster for e2e). Each tier is
// a separate `node --test` run so a failure names its tier; the last line sums them up.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tiers = {
  lint: runLint,
  unit: () => runNodeTests('unit'),
  integration: runIntegration,
  e2e: runE2e,
};
const order = { all: ['lint', 'unit', 'integration', 'e2e'] };

function findTests(dir) {
  const out = [];
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries.sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

function run(cmd, args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      output += chunk.toString();
    });
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

const totals = { passed: 0, failed: 0, skipped: 0 };
/** Skips in tiers where a skip fails the run unless test/ALLOWED_SKIPS.md lists its reason. */
const strictTiers = new Set(['integration', 'e2e']);
const refusedSkips = [];

/** The reasons listed in test/ALLOWED_SKIPS.md: the backticked text that opens each bullet. */
function allowedSkipReasons() {
  const path = join(root, 'test', 'ALLOWED_SKIPS.md');
  if (!existsSync(path)) return [];
  return [...readFileSync(path, 'utf8').matchAll(/^- `([^`]+)`/gm)].map(([, reason]) => reason);
}

/** Skipped and todo tests from a TAP report: `ok 3 - name # SKIP reason` (names escape `#`). */
function skipsIn(tap) {
  const unescape = (text) => text.replace(/\\(.)/g, '$1');
  return [...tap.matchAll(/^\s*(?:not )?ok \d+ - (.*?) # (SKIP|TODO)(?: (.*))?$/gm)].map(
    ([, name, kind, reason]) => ({ name: unescape(name), kind, reason: unescape(reason ?? '').trim() }),
  );
}

function checkSkips(tier, tap) {
  const allowed = allowedSkipReasons();
  for (const skip of skipsIn(tap)) {
    if (skip.reason && allowed.some((reason) => skip.reason.startsWith(reason))) continue;
    refusedSkips.push({ tier, ...skip });
  }
}

function count(output) {
  const pick = (word) => Number(output.match(new RegExp(`^ℹ ${word} (\\d+)$`, 'm'))?.[1] ?? 0);
  totals.passed += pick('pass');
  totals.failed += pick('fail') + pick('cancelled');
  totals.skipped += pick('skipped') + pick('todo');
}

async function runNodeTests(tier, env = {}) {
  const files = findTests(join(root, 'test', tier));
  if (files.length === 0) {
    console.log(`[${tier}] no tests`);
    return 0;
  }
  const concurrency = tier === 'unit' ? [] : ['--test-concurrency=1'];
  // The spec report is for people; a TAP copy beside it names every skip with its reason.
  const reports = mkdtempSync(join(tmpdir(), `lamina-${tier}-`));
  const tapFile = join(reports, 'report.tap');
  const reporters = ['spec', 'stdout', 'tap', tapFile].flatMap((value, i) =>
    i % 2 === 0 ? [`--test-reporter=${value}`] : [`--test-reporter-destination=${value}`],
  );
  const { code, output } = await run(
    process.execPath,
    ['--import', 'tsx', '--test', ...reporters, ...concurrency, ...files],
    env,
  );
  count(output);
  const before = refusedSkips.length;
  if (strictTiers.has(tier)) checkSkips(tier, existsSync(tapFile) ? readFileSync(tapFile, 'utf8') : '');
  rmSync(reports, { recursive: true, force: true });
  return refusedSkips.length > before ? code || 1 : code;
}

async function runLint() {
  for (const [cmd, args] of [
    ['npx', ['tsc', '-p', 'tsconfig.json', '--noEmit']],
    ['npx', ['eslint', '.']],
    ['npx', ['prettier', '--check', '.', '--log-level', 'warn']],
  ]) {
    const { code } = await run(cmd, args);
    if (code !== 0) {
      totals.failed += 1;
      return code;
    }
  }
  return 0;
}

function provision(script, args) {
  // Scripts print progress on stderr and `NAME=value` lines (KUBECONFIG, LAMINA_GATEWAY) on stdout.
  const result = spawnSync('bash', [script, ...args], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const out = result.stdout.toString();
  process.stdout.write(out);
  const values = Object.fromEntries(
    [...out.matchAll(/^([A-Z_]+)=(.+)$/gm)].map(([, name, value]) => [name, value.trim()]),
  );
  if (result.status !== 0 || !values.KUBECONFIG)
    throw new Error(`${script} ${args.join(' ')} failed (exit ${result.status})`);
  return values;
}

async function runIntegration() {
  if (findTests(join(root, 'test', 'integration')).length === 0) return 0;
  const { KUBECONFIG } = provision('scripts/k8s/control-plane.sh', ['up']);
  return runNodeTests('integration', { KUBECONFIG, LAMINA_TEST_TIER: 'integration' });
}

async function runE2e() {
  if (findTests(join(root, 'test', 'e2e')).length === 0) return 0;
  // The quickstart's first command: the local cluster with Lamina installed and the examples applied.
  const { KUBECONFIG, LAMINA_GATEWAY } = provision('scripts/up.sh', []);
  // Namespaces an interrupted earlier run left behind (their functions keep warm-pool pods and
  // take room on the node): every e2e namespace carries the test label.
  const stale = spawnSync(
    'bash',
    [
      '-c',
      '. scripts/versions.sh && "$K8S_BIN_DIR/kubectl" delete namespace -l lamina.dev/test=true --wait=false',
    ],
    { cwd: root, stdio: 'inherit', env: { ...process.env, KUBECONFIG } },
  );
  if (stale.status !== 0) throw new Error('removing the namespaces of an earlier test run failed');
  return runNodeTests('e2e', { KUBECONFIG, LAMINA_GATEWAY, LAMINA_TEST_TIER: 'e2e' });
}

// A fresh clone has no node_modules: install exactly what the lock file says, once.
if (!existsSync(join(root, 'node_modules', '.package-lock.json'))) {
  const install = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (install.status !== 0) process.exit(install.status ?? 1);
}

const requested = process.argv[2] ?? 'all';
const selected = order[requested] ?? [requested];
const failedTiers = [];
for (const tier of selected) {
  const fn = tiers[tier];
  if (!fn) {
    console.error(`unknown tier ${tier}; use one of: all, ${Object.keys(tiers).join(', ')}`);
    process.exit(2);
  }
  const started = Date.now();
  console.log(`\n=== ${tier} ===`);
  const code = await fn();
  console.log(
    `=== ${tier}: ${code === 0 ? 'ok' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s ===`,
  );
  if (code !== 0) failedTiers.push(tier);
}
if (refusedSkips.length > 0) {
  console.log(`\nskips not allowed by test/ALLOWED_SKIPS.md (each counts as a failure):`);
  for (const { tier, name, kind, reason } of refusedSkips)
    console.log(`  [${tier}] ${name} — ${kind} ${reason || '(no reason given)'}`);
}
console.log(
  `${totals.passed} passed, ${totals.failed + refusedSkips.length} failed, ${totals.skipped} skipped`,
);
process.exit(failedTiers.length === 0 ? 0 : 1);
