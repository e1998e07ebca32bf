// A small OTLP/HTTP traces receiver for tests: POST /v1/traces in protobuf (what the gateway
// sends) or JSON, decoded with protobufjs from the OTLP trace messages below (field numbers as
// in opentelemetry-proto's trace/v1 and common/v1), spans kept in order of arrival.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import protobuf from 'protobufjs';

const OTLP_PROTO = `
syntax = "proto3";
package otlp;
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message InstrumentationScope { string name = 1; string version = 2; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  Status status = 15;
}
message Status { string message = 2; int32 code = 3; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
  }
}
`;

const Request = protobuf
  .parse(OTLP_PROTO, { keepCase: false })
  .root.lookupType('otlp.ExportTraceServiceRequest');

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Empty for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind: 1 internal, 2 server, 3 client. */
  kind: number;
  startMs: number;
  endMs: number;
  attributes: Record<string, string | number | boolean>;
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  statusCode: number;
  serviceName: string;
}

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface DecodedSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string;
  endTimeUnixNano?: string;
  attributes?: KeyValue[];
  status?: { code?: number };
}
interface Decoded {
  resourceSpans?: { resource?: { attributes?: KeyValue[] }; scopeSpans?: { spans?: DecodedSpan[] }[] }[];
}

const valueOf = (v: AnyValue | undefined): string | number | boolean =>
  v?.stringValue ?? v?.boolValue ?? (v?.intValue !== undefined ? Number(v.intValue) : (v?.doubleValue ?? ''));

const attributesOf = (list: KeyValue[] | undefined) =>
  Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));

/** OTLP JSON carries ids as hex; protobuf bytes come out of toObject as base64. */
const hexId = (value: string | undefined, json: boolean) =>
  !value ? '' : json ? value.toLowerCase() : Buffer.from(value, 'base64').toString('hex');

function spansOf(body: Decoded, json: boolean): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const serviceName = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: hexId(s.traceId, json),
          spanId: hexId(s.spanId, json),
          parentSpanId: hexId(s.parentSpanId, json),
          name: s.name ?? '',
          kind: Number(s.kind ?? 0),
          startMs: Number(BigInt(s.startTimeUnixNano ?? '0') / 1000n) / 1000,
          endMs: Number(BigInt(s.endTimeUnixNano ?? '0') / 1000n) / 1000,
          attributes: attributesOf(s.attributes),
          statusCode: Number(s.status?.code ?? 0),
          serviceName,
        });
      }
    }
  }
  return spans;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** Export requests received, with the headers they came with. */
  requests: { contentType: string; headers: Record<string, string | string[] | undefined> }[];
  /** The spans of one trace once `count` have arrived (polls; fails after `timeoutMs`). */
  trace(traceId: string, count: number, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

export async function startOtlpReceiver(host = '127.0.0.1'): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const requests: OtlpReceiver['requests'] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const contentType = String(req.headers['content-type'] ?? '');
      requests.push({ contentType, headers: req.headers });
      if (req.method !== 'POST' || !req.url?.endsWith('/v1/traces')) {
        res.writeHead(404).end();
        return;
      }
      try {
        const json = contentType.includes('json');
        const decoded = json
          ? (JSON.parse(body.toString('utf8')) as Decoded)
          : (Request.toObject(Request.decode(body), { longs: String, bytes: String }) as Decoded);
        spans.push(...spansOf(decoded, json));
        res.writeHead(200, { 'content-type': contentType || 'application/x-protobuf' }).end();
      } catch (err) {
        res.writeHead(400).end(String(err));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    spans,
    requests,
    async trace(traceId, count, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = spans.filter((s) => s.traceId === traceId);
        if (found.length >= count) return found;
        if (Date.now() > deadline) {
          throw new Error(
            `trace ${traceId}: ${found.length} of ${count} spans after ${timeoutMs} ms ` +
              `(${spans.length} spans, ${requests.length} export requests received in all)`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
