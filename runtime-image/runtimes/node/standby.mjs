// A standby runtime (LAMINA_STANDBY=1) is started before its function is known: the
// interpreter and this client's modules load while the environment waits in the warm pool.
// The agent then writes the function's environment and working directory to its stdin, once,
// and closes it; the process adopts them as if it had been started with them.
import Module from 'node:module';

export async function adoptFunctionEnvironment() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const { env, cwd } = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  for (const name of Object.keys(process.env)) delete process.env[name];
  Object.assign(process.env, env);
  process.chdir(cwd);
  // CommonJS reads NODE_PATH once, at start-up: read it again.
  Module._initPaths();
}
