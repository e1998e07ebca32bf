// The runtime clients' own rules, checked without an agent: error shapes, the context clamp,
// result marshalling.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const runtimes = fileURLToPath(new URL('../../../runtime-image/runtimes/', import.meta.url));

describe('Node.js runtime client errors', async () => {
  const errorsModule = `${runtimes}node/errors.mjs`;
  const errors = await import(errorsModule);

  test('an Error becomes {errorType, errorMessage, trace}', () => {
    const response = errors.toRapidResponse(new TypeError('bad thing'));
    assert.equal(response.errorType, 'TypeError');
    assert.equal(response.errorMessage, 'bad thing');
    assert.equal(response.trace[0], 'TypeError: bad thing');
  });

  test('a thrown non-Error keeps its typeof as the type', () => {
    assert.deepEqual(errors.toRapidResponse('plain string'), {
      errorType: 'string',
      errorMessage: 'plain string',
      trace: [],
    });
    assert.deepEqual(errors.toRapidResponse(42), { errorType: 'number', errorMessage: '42', trace: [] });
  });

  test('runtime errors are named Runtime.<Class>', () => {
    assert.equal(new errors.ImportModuleError('x').name, 'Runtime.ImportModuleError');
    assert.equal(new errors.HandlerNotFound('x').name, 'Runtime.HandlerNotFound');
    assert.equal(new errors.MalformedHandlerName('x').name, 'Runtime.MalformedHandlerName');
    assert.equal(new errors.UserCodeSyntaxError('x').name, 'Runtime.UserCodeSyntaxError');
    assert.equal(new errors.UnhandledPromiseRejection(new Error('why')).message, 'Error: why');
  });
});

describe('Python runtime client', () => {
  const script = `
import decimal, json, sys, time
sys.path.insert(0, ${JSON.stringify(`${runtimes}python`)})
from lamina_runtime.context import LambdaContext
from lamina_runtime.errors import FaultException, make_error
from lamina_runtime.marshal import marshal_result
past = LambdaContext("id", {"client": {"app_title": "t"}, "custom": {"k": 1}}, None, int(time.time() * 1000) - 5000, "arn")
future = LambdaContext("id", None, {"cognitoIdentityId": "cid"}, int(time.time() * 1000) + 5000, "arn")
out = {
    "clamped": past.get_remaining_time_in_millis(),
    "remaining": future.get_remaining_time_in_millis(),
    "app_title": past.client_context.client.app_title,
    "custom": past.client_context.custom,
    "no_client_context": future.client_context is None,
    "identity": [future.identity.cognito_identity_id, past.identity.cognito_identity_id],
    "decimals": marshal_result({"d": decimal.Decimal("1.5"), "i": decimal.Decimal("3")}),
    "bytes": marshal_result(b"raw")[1],
    "error": make_error("m", "T", None),
}
try:
    marshal_result({1, 2})
except FaultException as e:
    out["marshal"] = [e.exception_type, e.msg]
print(json.dumps(out))
`;

  test('clamps the remaining time at zero, builds context objects and marshals results', () => {
    const run = spawnSync(process.env.LAMINA_TEST_PYTHON ?? 'python3', ['-c', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const out = JSON.parse(run.stdout);
    assert.equal(out.clamped, 0);
    assert.ok(out.remaining > 0 && out.remaining <= 5000);
    assert.equal(out.app_title, 't');
    assert.deepEqual(out.custom, { k: 1 });
    assert.equal(out.no_client_context, true);
    assert.deepEqual(out.identity, ['cid', null]);
    assert.deepEqual(out.decimals, ['{"d": 1.5, "i": 3}', 'application/json']);
    assert.equal(out.bytes, 'application/unknown');
    assert.deepEqual(out.error, { errorMessage: 'm', errorType: 'T', requestId: '', stackTrace: [] });
    assert.equal(out.marshal[0], 'Runtime.MarshalError');
    assert.match(out.marshal[1], /^Unable to marshal response: Object of type set is not JSON serializable/);
  });
});
