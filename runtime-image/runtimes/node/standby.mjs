// A standby runtime (LAMINA_STANDBY=1) is started before its function is known: the
// interpreter and this client's modules load while the environment waits in the warm pool.
// The agent then writes the function's environment and working directory to its stdin, once,
// and closes it; the process adopts them as if it had been started with them. The wait is a
// blocking read: the process sleeps until the hand-over and wakes the moment it arrives.
import { readSync } from 'node:fs';
import Module from 'node:module';
import { RapidClient } from './rapid-client.mjs';

export async function adoptFunctionEnvironment() {
  // One round trip now takes the HTTP client's first-use costs off the cold start.
  await new RapidClient(process.env.AWS_LAMBDA_RUNTIME_API).ping().catch(() => {});
  const { env, cwd } = JSON.parse(readLine());
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, env);
  process.chdir(cwd);
  // CommonJS reads NODE_PATH once, at start-up: read it again.
  Module._initPaths();
}

/** The hand-over is one line; waiting for the agent to close the pipe would cost a loop turn. */
function readLine() {
  const chunks = [];
  const buffer = Buffer.alloc(64 * 1024);
  for (;;) {
    const n = readSync(0, buffer);
    if (n === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, n)));
    if (buffer[n - 1] === 0x0a) break;
  }
  return Buffer.concat(chunks).toString('utf8');
}
