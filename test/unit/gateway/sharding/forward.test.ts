// Two gateways in one process, as two replicas: B does not own the functions and forwards
// every invocation to A, which runs it in its environments. What the caller of B gets is what A
// answered — payload, version, function error, log tail, throttles, streamed chunks — and B
// never touches an environment. A shard that moves makes B look again; a caller without the
// replicas' token is refused.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type AddressInfo, connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type {
  CoordinatorHooks,
  ShardCoordinator,
  ShardRoute,
} from '../../../../operator/src/gateway/sharding/coordinator.js';
import {
  FORWARD_HEADERS,
  FORWARD_PATH,
  ForwardClient,
} from '../../../../operator/src/gateway/sharding/forward.js';
import { shardOf } from '../../../../operator/src/gateway/sharding/ring.js';
import { activeFunction } from '../fixtures.js';
import { tick } from '../fake-provider.js';
import { testGateway } from '../harness.js';

const TOKEN = 'replica-secret';

async function waitUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(done(), 'condition not reached in 2 s');
}
const path = (name: string) => `/2015-03-31/functions/${encodeURIComponent(name)}/invocations`;

/** A coordinator as the gateway sees it: routes decided by the test. */
function stubCoordinator(routeOf: (fn: string) => ShardRoute, serves: (fn: string) => boolean) {
  let nudges = 0;
  const stub = {
    route: (fn: string) => routeOf(fn),
    shardOf: (fn: string) => shardOf(fn, 64),
    serves,
    holds: serves,
    ownsShard: () => true,
    settled: () => undefined,
    nudge: () => void (nudges += 1),
    status: () => ({
      identity: 'x',
      serving: true,
      liveMembers: [],
      ownedShards: 0,
      drainingShards: 0,
      lastRenewalAgeMs: 0,
    }),
    start: async () => undefined,
    leave: async () => undefined,
    stop: () => undefined,
    get nudges() {
      return nudges;
    },
  };
  return stub;
}

const sharding = (coordinator: ReturnType<typeof stubCoordinator>) => ({
  coordinator: (_hooks: CoordinatorHooks) => coordinator as unknown as ShardCoordinator,
  forward: new ForwardClient(TOKEN),
  token: TOKEN,
  settings: { ownerWaitMs: 2000, forwardSlackMs: 5000 },
  leaveTimeoutMs: 0,
});

describe('forwarding between gateway replicas', () => {
  let a: Awaited<ReturnType<typeof testGateway>>;
  let b: Awaited<ReturnType<typeof testGateway>>;
  let aAddress: string;
  let bRoute: (fn: string) => ShardRoute;
  const bCoordinator = stubCoordinator(
    (fn) => bRoute(fn),
    () => false,
  );

  before(async () => {
    const handlers = {
      echo: ({ event }: { event: unknown }) => ({ body: { event, on: 'a' }, log: 'START\nhello from a\n' }),
      boom: () => ({ body: { errorType: 'Error', errorMessage: 'boom' }, functionError: 'Unhandled' }),
      chunks: () => ({
        body: null,
        contentType: 'text/plain',
        stream: (async function* () {
          yield 'one,';
          yield 'two';
        })(),
      }),
    };
    a = await testGateway(handlers, {
      sharding: sharding(
        stubCoordinator(
          () => ({ kind: 'local' }),
          () => true,
        ),
      ),
    });
    b = await testGateway(handlers, { sharding: sharding(bCoordinator) });
    await a.app.listen({ port: 0, host: '127.0.0.1' });
    aAddress = `http://127.0.0.1:${(a.app.server.address() as AddressInfo).port}`;
    bRoute = () => ({ kind: 'remote', owner: 'a', address: aAddress });
    for (const t of [a, b]) {
      t.catalog.upsertFunction(activeFunction('echo'));
      t.catalog.upsertFunction(activeFunction('boom'));
      t.catalog.upsertFunction(activeFunction('chunks'));
      t.catalog.upsertFunction(activeFunction('closed', { reservedConcurrentExecutions: 0 }));
    }
    await tick();
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  it('runs a forwarded invocation on the owner and answers exactly as the owner did', async () => {
    const res = await b.app.inject({
      method: 'POST',
      url: path('echo'),
      headers: { 'x-amz-log-type': 'Tail' },
      payload: { n: 1 },
    });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { event: { n: 1 }, on: 'a' });
    assert.equal(res.headers['x-amz-executed-version'], '$LATEST');
    assert.match(Buffer.from(String(res.headers['x-amz-log-result']), 'base64').toString(), /hello from a/);
    assert.equal(a.agents.invocations.length, 1);
    assert.equal(b.agents.invocations.length, 0, 'the forwarding replica ran nothing itself');
  });

  it('relays function errors and the owner’s throttles with their type and reason', async () => {
    const boom = await b.app.inject({ method: 'POST', url: path('boom'), payload: {} });
    assert.equal(boom.statusCode, 200);
    assert.equal(boom.headers['x-amz-function-error'], 'Unhandled');
    assert.equal(boom.json().errorMessage, 'boom');

    const closed = await b.app.inject({ method: 'POST', url: path('closed'), payload: {} });
    assert.equal(closed.statusCode, 429);
    assert.equal(closed.headers['x-amzn-errortype'], 'TooManyRequestsException');
    assert.equal(closed.json().Reason, 'ReservedFunctionConcurrentInvocationLimitExceeded');
    assert.ok(closed.headers['retry-after']);
  });

  it('streams a forwarded response chunk by chunk', async () => {
    const res = await b.app.inject({
      method: 'POST',
      url: '/2021-11-15/functions/chunks/response-streaming-invocations',
      payload: {},
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/vnd.amazon.eventstream');
    const raw = res.rawPayload.toString('latin1');
    assert.ok(raw.includes('one,') && raw.includes('two'), raw);
    assert.ok(raw.includes('InvokeComplete'));
  });

  it('looks again when the owner says the function moved, then runs it where it is now', async () => {
    const c = await testGateway(
      {},
      {
        sharding: sharding(
          stubCoordinator(
            () => ({ kind: 'local' }),
            () => false,
          ),
        ),
      },
    );
    await c.app.listen({ port: 0, host: '127.0.0.1' });
    const cAddress = `http://127.0.0.1:${(c.app.server.address() as AddressInfo).port}`;
    try {
      const nudgesBefore = bCoordinator.nudges;
      let asked = 0;
      // First the stale owner (c answers 421), then the real one.
      bRoute = () =>
        asked++ === 0
          ? { kind: 'remote', owner: 'c', address: cAddress }
          : { kind: 'remote', owner: 'a', address: aAddress };
      const res = await b.app.inject({ method: 'POST', url: path('echo'), payload: { n: 2 } });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { event: { n: 2 }, on: 'a' });
      assert.equal(bCoordinator.nudges, nudgesBefore + 1);
    } finally {
      bRoute = () => ({ kind: 'remote', owner: 'a', address: aAddress });
      await c.close();
    }
  });

  it('follows the shard when a cold start here is cut off by the shard moving away (nothing ran)', async () => {
    let moved = false;
    let hooks: CoordinatorHooks | undefined;
    const coordinator = stubCoordinator(
      () => (moved ? { kind: 'remote', owner: 'a', address: aAddress } : { kind: 'local' }),
      () => !moved,
    );
    const d = await testGateway(
      {},
      {
        sharding: {
          ...sharding(coordinator),
          coordinator: (h: CoordinatorHooks) => {
            hooks = h;
            return coordinator as unknown as ShardCoordinator;
          },
        },
      },
    );
    try {
      d.catalog.upsertFunction(activeFunction('echo'));
      await tick();
      d.provider.autoReady = false; // the cold start stays pending until the shard moves
      const answer = d.app.inject({ method: 'POST', url: path('echo'), payload: { n: 3 } });
      await waitUntil(() => d.provider.created.length === 1);
      moved = true;
      hooks!.released([shardOf('echo', 64)]);
      const res = await answer;
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { event: { n: 3 }, on: 'a' }, 'run by the replica the shard went to');
      assert.deepEqual(d.agents.invocations, [], 'nothing ran on the replica that lost the shard');
    } finally {
      await d.close();
    }
  });

  it('waits for an owner, and answers ServiceException when none appears in time', async () => {
    bRoute = () => ({ kind: 'wait' });
    try {
      const res = await b.app.inject({ method: 'POST', url: path('echo'), payload: {} });
      assert.equal(res.statusCode, 500);
      assert.equal(res.headers['x-amzn-errortype'], 'ServiceException');
      assert.match(res.json().Message, /No gateway replica serves function echo/);
    } finally {
      bRoute = () => ({ kind: 'remote', owner: 'a', address: aAddress });
    }
  });

  it('refuses a forwarded invocation without the replicas’ token', async () => {
    const ran = a.agents.invocations.length;
    const res = await fetch(`${aAddress}${FORWARD_PATH}`, {
      method: 'POST',
      headers: {
        [FORWARD_HEADERS.token]: 'guess',
        [FORWARD_HEADERS.target]: JSON.stringify({
          namespace: 'default',
          functionName: 'echo',
          version: '$LATEST',
          invokedFunctionArn: 'x',
        }),
      },
      body: '{}',
    });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('x-amzn-errortype'), 'AccessDeniedException');
    assert.equal(a.agents.invocations.length, ran, 'nothing ran');
  });
});

describe('a stopping replica of several', () => {
  it('leaves the connections its clients hold for them to close, then closes the rest', async () => {
    const t = await testGateway(
      { echo: ({ event }) => ({ body: event }) },
      {
        sharding: {
          ...sharding(
            stubCoordinator(
              () => ({ kind: 'local' }),
              () => true,
            ),
          ),
          connectionDrainMs: 30_000,
        },
      },
    );
    t.catalog.upsertFunction(activeFunction('echo'));
    await tick();
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    // One request on a keep-alive connection, then the connection idles in the client's pool.
    const socket = connect(port, '127.0.0.1');
    await once(socket, 'connect');
    const answered = once(socket, 'data');
    socket.write(
      'POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n{}',
    );
    assert.match(String((await answered)[0]), /^HTTP\/1\.1 200/);
    let closedByServer = false;
    socket.on('end', () => (closedByServer = true));
    let stopped = false;
    const stopping = t.close().then(() => (stopped = true));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(closedByServer, false, 'the idle connection is not cut while the replica drains');
    assert.equal(stopped, false);
    socket.end(); // the client lets go of it: the replica finishes stopping
    await stopping;
    assert.equal(stopped, true);
  });
});
