// ESLint rule lamina/module-boundaries: a module is a folder directly under operator/src
// (api, protocol, shared, kube, zip, store, controller, gateway, cli …). Code outside a module
// reaches it only through its index.ts;
// inside a module, files import each other freely. Tests are exempt (they test internals).
import { dirname, relative, resolve, sep } from 'node:path';

/** The module a repository-relative path belongs to, or undefined (entry points, tests …). */
export function moduleOf(path) {
  const parts = path.split('/');
  if (path.startsWith('operator/src/') && parts.length > 3) return `operator/src/${parts[2]}`;
  return undefined;
}

/** Whether `from` (a file) may import `to` (a file), both relative to the repository root. */
export function crossesBoundary(from, to) {
  const target = moduleOf(to);
  if (target === undefined || target === moduleOf(from)) return false;
  return to.replace(/\.[cm]?[jt]s$/, '') !== `${target}/index`;
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: "forbid importing another module's internal files; import its index.ts" },
    messages: {
      internal:
        "'{{source}}' reaches into {{module}}; import '{{index}}' instead (add the export there if it is missing).",
    },
    schema: [],
  },
  create(context) {
    const root = context.cwd;
    const from = relative(root, context.filename).split(sep).join('/');
    function check(node) {
      const source = node.source?.value;
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const to = relative(root, resolve(dirname(context.filename), source))
        .split(sep)
        .join('/');
      if (!crossesBoundary(from, to)) return;
      const module = moduleOf(to);
      const index = relative(dirname(from), `${module}/index.js`).split(sep).join('/');
      context.report({
        node: node.source,
        messageId: 'internal',
        data: { source, module, index: index.startsWith('.') ? index : `./${index}` },
      });
    }
    return {
      ImportDeclaration: check,
      ExportNamedDeclaration: check,
      ExportAllDeclaration: check,
      ImportExpression: check,
    };
  },
};

export default { rules: { 'module-boundaries': rule } };
