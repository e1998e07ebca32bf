// The Go agent speaks operator/src/protocol/ without copying it: its constants are generated
// (scripts/gen-agent-protocol.ts) and its configuration structs carry the zod schema's fields.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { functionConfigSchema } from '../../../operator/src/protocol/index.js';
import {
  AGENT_PROTOCOL_GO,
  canonicalHeader,
  renderAgentProtocol,
} from '../../../scripts/gen-agent-protocol.js';

const CONFIG_GO = new URL('../../../runtime-image/agent-go/config.go', import.meta.url);

/** The JSON field names of a Go struct (its `json:"name,…"` tags, without `json:"-"`). */
function goJsonFields(source: string, struct: string): string[] {
  const body = new RegExp(`^type ${struct} struct \\{\\n([\\s\\S]*?)^\\}`, 'm').exec(source)?.[1];
  assert.ok(body, `no struct ${struct} in the Go source`);
  return [...body.matchAll(/`json:"([^",]*)[^"]*"`/g)]
    .map(([, name]) => name as string)
    .filter((name) => name !== '-');
}

const sorted = (names: string[]): string[] => [...names].sort();

describe("the Go agent's protocol", () => {
  it('is the file the generator writes from operator/src/protocol (regenerate: npx tsx scripts/gen-agent-protocol.ts)', () => {
    assert.equal(readFileSync(AGENT_PROTOCOL_GO, 'utf8'), renderAgentProtocol());
  });

  it("writes header names in Go's canonical form", () => {
    assert.equal(canonicalHeader('x-amzn-requestid'), 'X-Amzn-Requestid');
    assert.equal(canonicalHeader('x-lamina-init-duration-ms'), 'X-Lamina-Init-Duration-Ms');
  });

  it("gives the Go FunctionConfig and Artifact exactly the zod schema's fields", () => {
    const source = readFileSync(CONFIG_GO, 'utf8');
    const shape = functionConfigSchema.shape;
    const artifact = (shape.code as z.ZodOptional<z.ZodObject>).unwrap();
    assert.deepEqual(sorted(goJsonFields(source, 'FunctionConfig')), sorted(Object.keys(shape)));
    assert.deepEqual(sorted(goJsonFields(source, 'Artifact')), sorted(Object.keys(artifact.shape)));
  });
});
