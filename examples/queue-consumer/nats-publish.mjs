// Publishes each argument as a message on subject orders.created of the JetStream stream
// "orders" (subjects orders.>), creating the stream first if it does not exist; with --delete,
// deletes the stream instead. The server: $NATS_URL (`npm run up -- --with nats` writes it to
// .lamina/env).
//   node examples/queue-consumer/nats-publish.mjs nats-order-1 nats-order-2
//   node examples/queue-consumer/nats-publish.mjs --delete
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

const servers = process.env.NATS_URL;
if (!servers) throw new Error('NATS_URL is not set: source .lamina/env after npm run up -- --with nats');
const nc = await connect({ servers });
try {
  const jsm = await jetstreamManager(nc);
  if (process.argv[2] === '--delete') {
    await jsm.streams.delete('orders').catch(() => false);
  } else {
    const exists = await jsm.streams.info('orders').then(
      () => true,
      () => false,
    );
    if (!exists) await jsm.streams.add({ name: 'orders', subjects: ['orders.>'] });
    const js = jetstream(nc);
    for (const message of process.argv.slice(2)) {
      const ack = await js.publish('orders.created', message);
      console.log(`orders#${ack.seq} ${message}`);
    }
  }
} finally {
  await nc.close();
}
