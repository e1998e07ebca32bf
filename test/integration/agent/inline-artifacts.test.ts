// A zip sent inline with the specialisation (the gateway does for small ones): installed
// without a fetch from the store, its digest verified exactly as a fetched zip's.
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { describe, test } from 'node:test';
import { MAX_INLINE_ARTIFACT_BYTES } from '../../../operator/src/protocol/index.js';
import { agentFixture, fixtureFiles, functionConfig, zipOf, type AgentProcess } from './harness.js';

describe('zips sent inline with the specialisation', () => {
  const fixture = agentFixture();
  const code = zipOf(fixtureFiles('node/basic'));

  const specialize = (agent: AgentProcess, ref: { url: string; sha256: string }, inline: Buffer) =>
    agent.specialize(
      functionConfig({
        runtime: 'nodejs20.x',
        handler: 'index.handler',
        code: { ...ref, inline: inline.toString('base64') } as typeof ref,
      }),
    );

  const assertGenericAndEmpty = async (agent: AgentProcess) => {
    assert.equal((await agent.health()).json().state, 'generic');
    assert.deepEqual(existsSync(agent.taskRoot) ? readdirSync(agent.taskRoot) : [], []);
  };

  test('installs the inline code without fetching it, and runs it', async () => {
    const agent = await fixture.start();
    const ref = fixture.store.put(code);
    const fetchesBefore = fixture.store.requests;
    const res = await specialize(agent, ref, code);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json().state, 'ready');
    assert.equal(fixture.store.requests, fetchesBefore, 'the store was not asked for the zip');
    const out = await agent.invoke({ hello: 'inline' });
    assert.equal(out.status, 200, out.text);
    assert.deepEqual(out.json<{ event: unknown }>().event, { hello: 'inline' });
  });

  test('refuses inline bytes whose sha256 is not the pinned one (400 CodeVerificationFailedException)', async () => {
    const agent = await fixture.start();
    const ref = fixture.store.put(code);
    const other = zipOf({ 'index.js': 'exports.handler = async () => "not the pinned code";' });
    const res = await specialize(agent, ref, other);
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json().errorType, 'CodeVerificationFailedException');
    await assertGenericAndEmpty(agent);
  });

  test('refuses an inline zip larger than the inline limit (400 InvalidParameterValueException)', async () => {
    const agent = await fixture.start();
    const big = Buffer.alloc(MAX_INLINE_ARTIFACT_BYTES + 3, 1);
    const ref = fixture.store.put(big);
    const res = await specialize(agent, ref, big);
    assert.equal(res.status, 400, res.text);
    assert.equal(res.json().errorType, 'InvalidParameterValueException');
    assert.match(res.json<{ errorMessage: string }>().errorMessage, /code\.inline/);
    await assertGenericAndEmpty(agent);
  });
});
