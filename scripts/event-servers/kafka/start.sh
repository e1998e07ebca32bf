#!/bin/sh
# One Kafka node in KRaft mode (broker and controller), data in $KAFKA_DATA_DIR (an emptyDir:
# formatted on first start). Clients are told to reach the broker at $KAFKA_ADVERTISED_HOST
# (the pod IP from the downward API), which pods and the node both route to.
set -eu
data="${KAFKA_DATA_DIR:-/var/lib/kafka}"
host="${KAFKA_ADVERTISED_HOST:-$(hostname -i | cut -d' ' -f1)}"
config="$data/server.properties"
cp_="/opt/kafka/lib/*"
mkdir -p "$data/log"
cat >"$config" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
listeners=PLAINTEXT://0.0.0.0:9092,CONTROLLER://127.0.0.1:9093
advertised.listeners=PLAINTEXT://$host:9092
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$data/log
num.partitions=${KAFKA_NUM_PARTITIONS:-1}
offsets.topic.replication.factor=1
offsets.topic.num.partitions=${KAFKA_OFFSETS_PARTITIONS:-8}
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
if [ ! -f "$data/log/meta.properties" ]; then
  java -cp "$cp_" kafka.tools.StorageTool format -c "$config" \
    -t "$(java -cp "$cp_" kafka.tools.StorageTool random-uuid)"
fi
# shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several options
exec java ${KAFKA_HEAP_OPTS:-} -Dlog4j2.configurationFile=/opt/kafka/log4j2.yaml -cp "$cp_" kafka.Kafka "$config"
