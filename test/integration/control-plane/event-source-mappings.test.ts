// Lambda's event source mapping API with the AWS SDK v3 against the gateway, the real operator
// reconciling the EventSourceMapping objects it writes: create for each source form, get,
// list by function and by source, update, delete, and Lambda's refusals.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CreateEventSourceMappingCommand,
  CreateFunctionCommand,
  DeleteEventSourceMappingCommand,
  GetEventSourceMappingCommand,
  ListEventSourceMappingsCommand,
  UpdateEventSourceMappingCommand,
} from '@aws-sdk/client-lambda';
import type { EventSourceMapping } from '../../../operator/src/api/index.js';
import { eventually } from '../controller/fixtures.js';
import { type ControlPlaneWorld, failure, pythonZip, ROLE, startControlPlane } from './setup.js';

describe('event source mappings through the Lambda API', () => {
  let w: ControlPlaneWorld;

  before(async () => {
    w = await startControlPlane('cpesm');
    await w.lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'worker',
        Runtime: 'python3.13',
        Handler: 'app.handler',
        Role: ROLE,
        Code: { ZipFile: pythonZip() },
      }),
    );
  });
  after(async () => {
    await w?.dispose();
  });

  it('creates a NATS mapping that kubectl sees, reports it Enabled, updates and deletes it', async () => {
    const created = await w.lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'worker',
        EventSourceArn: 'nats://nats.lamina:4222/orders/orders.created',
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 50,
        MaximumRetryAttempts: 2,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        FilterCriteria: { Filters: [{ Pattern: '{"data":{"kind":["order"]}}' }] },
        DestinationConfig: {
          OnFailure: { Destination: `arn:aws:lambda:us-east-1:${w.namespace}:function:worker` },
        },
      }),
    );
    assert.equal(created.$metadata.httpStatusCode, 202);
    const uuid = created.UUID ?? '';
    assert.match(uuid, /^[0-9a-f-]{36}$/);
    assert.equal(created.FunctionArn, `arn:aws:lambda:us-east-1:${w.namespace}:function:worker`);
    assert.equal(created.EventSourceArn, 'nats://nats.lamina:4222/orders/orders.created');
    assert.equal(
      created.DestinationConfig?.OnFailure?.Destination,
      `arn:aws:lambda:us-east-1:${w.namespace}:function:worker`,
    );

    const [object] = await w.kubectlList<EventSourceMapping>('eventsourcemappings');
    assert.equal(object?.metadata.uid, uuid);
    assert.deepEqual(object?.spec.source, {
      nats: { url: 'nats://nats.lamina:4222', stream: 'orders', subject: 'orders.created' },
    });
    assert.deepEqual(object?.spec.filterCriteria, { filters: [{ pattern: '{"data":{"kind":["order"]}}' }] });

    const enabled = await eventually(async () => {
      const got = await w.lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }));
      assert.equal(got.State, 'Enabled');
      return got;
    });
    assert.equal(enabled.BatchSize, 50);
    assert.deepEqual(enabled.FunctionResponseTypes, ['ReportBatchItemFailures']);

    const updated = await w.lambda.send(
      new UpdateEventSourceMappingCommand({
        UUID: uuid,
        Enabled: false,
        BatchSize: 10,
        FilterCriteria: { Filters: [] },
      }),
    );
    assert.equal(updated.$metadata.httpStatusCode, 202);
    assert.equal(updated.FilterCriteria, undefined);
    await eventually(async () =>
      assert.equal((await w.lambda.send(new GetEventSourceMappingCommand({ UUID: uuid }))).State, 'Disabled'),
    );

    const deleted = await w.lambda.send(new DeleteEventSourceMappingCommand({ UUID: uuid }));
    assert.equal(deleted.State, 'Deleting');
    const gone = await failure(w.lambda.send(new GetEventSourceMappingCommand({ UUID: uuid })));
    assert.equal(gone.name, 'ResourceNotFoundException');
  });

  it('maps Kafka, SQS and schedule sources, and lists mappings by function and by source', async () => {
    const kafka = await w.lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'worker',
        SelfManagedEventSource: { Endpoints: { KAFKA_BOOTSTRAP_SERVERS: ['kafka:9092'] } },
        Topics: ['clicks'],
        StartingPosition: 'LATEST',
      }),
    );
    assert.deepEqual(kafka.Topics, ['clicks']);
    assert.equal(kafka.SelfManagedKafkaEventSourceConfig?.ConsumerGroupId, kafka.UUID);
    const sqs = await w.lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'worker',
        EventSourceArn: 'arn:aws:sqs:eu-west-1:123456789012:jobs',
        BatchSize: 100,
        MaximumBatchingWindowInSeconds: 5,
        ScalingConfig: { MaximumConcurrency: 5 },
      }),
    );
    assert.equal(sqs.EventSourceArn, 'arn:aws:sqs:eu-west-1:123456789012:jobs');
    const [sqsObject] = (await w.kubectlList<EventSourceMapping>('eventsourcemappings')).filter(
      (m) => m.metadata.uid === sqs.UUID,
    );
    assert.equal(
      sqsObject?.spec.source.sqs?.queueUrl,
      'https://sqs.eu-west-1.amazonaws.com/123456789012/jobs',
    );
    const tick = await w.lambda.send(
      new CreateEventSourceMappingCommand({
        FunctionName: 'worker',
        EventSourceArn: 'schedule:cron(0 3 * * ? *)@Europe/Paris',
      }),
    );
    assert.equal(tick.EventSourceArn, 'schedule:cron(0 3 * * ? *)@Europe/Paris');

    const all = await w.lambda.send(new ListEventSourceMappingsCommand({ FunctionName: 'worker' }));
    assert.deepEqual(
      all.EventSourceMappings?.map((m) => m.UUID).sort(),
      [kafka.UUID, sqs.UUID, tick.UUID].sort(),
    );
    const bySource = await w.lambda.send(
      new ListEventSourceMappingsCommand({ EventSourceArn: 'arn:aws:sqs:eu-west-1:123456789012:jobs' }),
    );
    assert.deepEqual(
      bySource.EventSourceMappings?.map((m) => m.UUID),
      [sqs.UUID],
    );
    const paged = await w.lambda.send(new ListEventSourceMappingsCommand({ MaxItems: 2 }));
    assert.equal(paged.EventSourceMappings?.length, 2);
    const rest = await w.lambda.send(new ListEventSourceMappingsCommand({ Marker: paged.NextMarker }));
    assert.equal(rest.EventSourceMappings?.length, 1);
  });

  it('refuses what Lambda refuses, and leaves nothing behind', async () => {
    const before = (await w.kubectlList<EventSourceMapping>('eventsourcemappings')).length;
    const cases = [
      { FunctionName: 'missing', EventSourceArn: 'arn:aws:sqs:eu-west-1:1:q' },
      { FunctionName: 'worker', EventSourceArn: 'arn:aws:kinesis:eu-west-1:1:stream/s' },
      { FunctionName: 'worker', EventSourceArn: 'arn:aws:sqs:eu-west-1:1:q', BatchSize: 100 },
      { FunctionName: 'worker', EventSourceArn: 'arn:aws:sqs:eu-west-1:1:q', MaximumRetryAttempts: 1 },
      { FunctionName: 'worker', EventSourceArn: 'nats://n:4222/s' },
      { FunctionName: 'worker', EventSourceArn: 'schedule:rate(1 minutes)' },
    ];
    const names = [];
    for (const input of cases)
      names.push((await failure(w.lambda.send(new CreateEventSourceMappingCommand(input)))).name);
    assert.deepEqual(names, [
      'ResourceNotFoundException',
      'InvalidParameterValueException',
      'InvalidParameterValueException',
      'InvalidParameterValueException',
      'InvalidParameterValueException',
      'InvalidParameterValueException',
    ]);
    assert.equal((await w.kubectlList<EventSourceMapping>('eventsourcemappings')).length, before);
    const unknown = await failure(
      w.lambda.send(new GetEventSourceMappingCommand({ UUID: '00000000-0000-0000-0000-000000000000' })),
    );
    assert.equal(unknown.name, 'ResourceNotFoundException');
  });
});
