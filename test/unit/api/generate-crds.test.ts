import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { CRD_DIRECTORIES, renderCrds } from '../../../operator/src/api/generate-crds.js';
import { repoRoot } from '../../harness/manifests.js';

describe('generated CRDs', () => {
  const rendered = renderCrds();

  for (const dir of CRD_DIRECTORIES) {
    for (const [name, content] of rendered) {
      it(`${dir}/${name} is what the schemas generate (run \`npm run crds\` if not)`, () => {
        assert.equal(readFileSync(join(repoRoot, dir, name), 'utf8'), content);
      });
    }
  }

  it('gives every kind a status subresource, short names, the lamina category and printer columns', () => {
    for (const content of rendered.values()) {
      const crd = parse(content);
      const version = crd.spec.versions[0];
      assert.deepEqual(version.subresources, { status: {} });
      assert.ok(crd.spec.names.shortNames.length > 0);
      assert.deepEqual(crd.spec.names.categories, ['lamina']);
      assert.ok(version.additionalPrinterColumns.some((c: { name: string }) => c.name === 'Age'));
    }
  });

  it('keeps schemas structural: no additionalProperties next to properties', () => {
    const visit = (node: unknown, path: string): void => {
      if (!node || typeof node !== 'object') return;
      const schema = node as Record<string, unknown>;
      assert.ok(
        !(schema.properties && 'additionalProperties' in schema),
        `${path} mixes properties and additionalProperties`,
      );
      for (const [key, value] of Object.entries(schema))
        if (key !== 'x-kubernetes-validations') visit(value, `${path}.${key}`);
    };
    for (const [name, content] of rendered) visit(parse(content).spec.versions[0].schema, name);
  });
});
