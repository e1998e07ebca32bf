import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { snapshotOfLatest } from '../../../../operator/src/api/index.js';
import { MemoryCatalog } from '../../../../operator/src/gateway/catalog/catalog.js';
import {
  CatalogSync,
  type ProvisionedConcurrencyStatus,
} from '../../../../operator/src/gateway/dispatch/catalog-sync.js';
import { environmentSpec } from '../../../../operator/src/gateway/environments/environment-spec.js';
import { EnvironmentPool } from '../../../../operator/src/gateway/environments/environment-pool.js';
import { functionUrl } from '../../../../operator/src/api/function-url.js';
import { hostToUrlPrefix } from '../../../../operator/src/gateway/routing/function-url.js';
import { BurstScaler } from '../../../../operator/src/gateway/scaling/burst-scaler.js';
import { ConcurrencyLedger } from '../../../../operator/src/gateway/scaling/concurrency.js';
import { ManualClock } from '../../../../operator/src/shared/clock.js';
import { createLogger } from '../../../../operator/src/shared/log.js';
import { activeFunction, alias, publishedVersion } from '../fixtures.js';
import { FakeProvider, tick } from '../fake-provider.js';

function setup() {
  const catalog = new MemoryCatalog();
  const provider = new FakeProvider();
  const ledger = new ConcurrencyLedger({ namespaceLimit: 1000, unreservedMinimum: 100 });
  const clock = new ManualClock(0);
  const log = createLogger({}, 'error');
  const pool = new EnvironmentPool(
    provider,
    ledger,
    new BurstScaler({ burst: 10, rate: 1, intervalMs: 1000 }),
    clock,
    log,
    {
      coldStartTimeoutMs: 1000,
      idleTimeoutMs: 60_000,
      maintenanceIntervalMs: 1000,
    },
  );
  const written: Array<{ kind: string; name: string; status: ProvisionedConcurrencyStatus }> = [];
  const sync = new CatalogSync(catalog, ledger, pool, { storeUrl: 'http://s', region: 'us-east-1' }, log, {
    write: async (kind, _ns, name, status) => void written.push({ kind, name, status }),
  });
  return { catalog, provider, ledger, pool, sync, written };
}

describe('CatalogSync', () => {
  it('applies reserved concurrency from the Function spec', () => {
    const { catalog, ledger, sync } = setup();
    catalog.upsertFunction(activeFunction('f', { reservedConcurrentExecutions: 5 }));
    sync.sync();
    assert.equal(ledger.grantedReservation('default', 'f'), 5);
    catalog.upsertFunction(activeFunction('f'));
    sync.sync();
    assert.equal(ledger.grantedReservation('default', 'f'), undefined);
  });

  it('keeps provisioned environments for versions and aliases and reports their status', async () => {
    const { catalog, provider, pool, sync, written } = setup();
    await pool.start();
    catalog.upsertFunction(activeFunction('f'));
    catalog.upsertVersion(publishedVersion('f', 1, { provisionedConcurrentExecutions: 2 }));
    catalog.upsertVersion(publishedVersion('f', 2));
    catalog.upsertAlias(alias('f', 'live', '2', { provisionedConcurrentExecutions: 1 }));
    sync.sync();
    assert.equal(provider.created.length, 3);
    const versions = [...provider.specs.values()].map((s) => s.version).sort();
    assert.deepEqual(versions, ['1', '1', '2']);
    await tick();
    await sync.writeStatuses();
    assert.deepEqual(written.map((w) => [w.kind, w.name, w.status.status, w.status.allocated]).sort(), [
      ['Alias', 'f-live', 'READY', 1],
      ['Version', 'f-v1', 'READY', 2],
    ]);
    // Nothing changed: nothing is written again.
    await sync.writeStatuses();
    assert.equal(written.length, 2);
  });

  it('prepares the first cold start of each new or changed $LATEST once', () => {
    const { catalog, provider, sync } = setup();
    catalog.upsertFunction(activeFunction('f'));
    catalog.upsertFunction(activeFunction('g'));
    sync.sync();
    sync.sync();
    assert.equal(provider.prepared.length, 2, 'once per configuration, not on every sync');
    catalog.upsertFunction(activeFunction('f', { memorySize: 256 }));
    sync.sync();
    assert.equal(provider.prepared.length, 3);
    assert.match(provider.prepared[2]!, /^default\/f\/\$LATEST\//);
  });

  it('destroys environments of a $LATEST that changed', async () => {
    const { catalog, provider, pool, sync } = setup();
    await pool.start();
    const fn = activeFunction('f');
    catalog.upsertFunction(fn);
    sync.sync();
    const spec = environmentSpec(fn, '$LATEST', snapshotOfLatest(fn)!, 'on-demand', {
      storeUrl: 'http://s',
      region: 'us-east-1',
    });
    const lease = await pool.acquire(spec);
    lease.release();
    catalog.upsertFunction(activeFunction('f', { memorySize: 512 }));
    sync.sync();
    assert.deepEqual(provider.destroyed, [lease.env.id]);
  });
});

describe('function URL addresses', () => {
  it('maps function hosts to the path-based URL', () => {
    assert.equal(hostToUrlPrefix('calc.team-a.lamina.local:8080', 'lamina.local'), '/lambda-url/team-a/calc');
    assert.equal(
      hostToUrlPrefix('live.calc.team-a.lamina.local', 'lamina.local'),
      '/lambda-url/team-a/calc:live',
    );
    assert.equal(hostToUrlPrefix('localhost:8080', 'lamina.local'), undefined);
    assert.equal(hostToUrlPrefix('a.b.c.d.lamina.local', 'lamina.local'), undefined);
  });

  it('builds the status URL', () => {
    assert.equal(functionUrl('http://gw:8080/', 'ns', 'calc'), 'http://gw:8080/lambda-url/ns/calc/');
  });
});
