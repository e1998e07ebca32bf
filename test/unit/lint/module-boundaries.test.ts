import { join } from 'node:path';
import { describe, it } from 'node:test';
import { RuleTester } from 'eslint';
import lamina from '../../../scripts/eslint/module-boundaries.mjs';

RuleTester.describe = describe;
RuleTester.it = it;
RuleTester.itOnly = it.only;

const root = process.cwd();
const file = (path: string) => join(root, path);
const tester = new RuleTester({ languageOptions: { ecmaVersion: 2022, sourceType: 'module' } });

tester.run('lamina/module-boundaries', lamina.rules['module-boundaries'], {
  valid: [
    {
      name: 'another module through its index',
      filename: file('operator/src/controller/function.ts'),
      code: "import { functionUrl } from '../api/index.js';",
    },
    {
      name: 'a sibling file of the same module',
      filename: file('operator/src/gateway/routes/invoke.ts'),
      code: "import { Invoker } from '../dispatch/invoker.js';",
    },
    {
      name: 'a package',
      filename: file('operator/src/store/server.ts'),
      code: "import fastify from 'fastify';",
    },
    {
      name: 'a root file outside any module',
      filename: file('operator/src/gateway/routes/invoke.ts'),
      code: "import { ServiceException } from '../../errors.js';",
    },
  ],
  invalid: [
    {
      name: "the controller reaching into the gateway's routing",
      filename: file('operator/src/controller/function.ts'),
      code: "import { hostToUrlPrefix } from '../gateway/routing/function-url.js';",
      errors: [{ messageId: 'internal' }],
    },
    {
      name: "the store reaching into the zip module's internals",
      filename: file('operator/src/store/zip-check.ts'),
      code: "export { openZip } from '../zip/archive.js';",
      errors: [{ messageId: 'internal' }],
    },
    {
      name: 'an entry point reaching into a module',
      filename: file('operator/src/bin/gateway.ts'),
      code: "const m = import('../gateway/config.js');",
      errors: [{ messageId: 'internal' }],
    },
  ],
});
