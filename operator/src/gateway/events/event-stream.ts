// AWS's event-stream framing (application/vnd.amazon.eventstream), as InvokeWithResponseStream
// answers: each message is a prelude (total length, headers length, CRC32 of the two), string
// headers, the payload and a CRC32 of everything before it.
import { crc32 } from 'node:zlib';

const STRING_HEADER = 7;

function encodeHeaders(headers: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const nameBytes = Buffer.from(name, 'utf8');
    const valueBytes = Buffer.from(value, 'utf8');
    const head = Buffer.alloc(1 + nameBytes.length + 3);
    head.writeUInt8(nameBytes.length, 0);
    nameBytes.copy(head, 1);
    head.writeUInt8(STRING_HEADER, 1 + nameBytes.length);
    head.writeUInt16BE(valueBytes.length, 2 + nameBytes.length);
    parts.push(head, valueBytes);
  }
  return Buffer.concat(parts);
}

/** One event-stream message. */
export function encodeMessage(headers: Record<string, string>, payload: Uint8Array): Buffer {
  const headerBytes = encodeHeaders(headers);
  const total = 12 + headerBytes.length + payload.length + 4;
  const message = Buffer.alloc(total);
  message.writeUInt32BE(total, 0);
  message.writeUInt32BE(headerBytes.length, 4);
  message.writeUInt32BE(crc32(message.subarray(0, 8)), 8);
  headerBytes.copy(message, 12);
  message.set(payload, 12 + headerBytes.length);
  message.writeUInt32BE(crc32(message.subarray(0, total - 4)), total - 4);
  return message;
}

/** InvokeWithResponseStream's `PayloadChunk` event: a piece of the function's response. */
export const payloadChunk = (payload: Uint8Array): Buffer =>
  encodeMessage(
    { ':event-type': 'PayloadChunk', ':content-type': 'application/octet-stream', ':message-type': 'event' },
    payload,
  );

export interface InvokeComplete {
  ErrorCode?: string;
  ErrorDetails?: string;
  LogResult?: string;
}

/** InvokeWithResponseStream's last event: how the invocation ended. */
export const invokeComplete = (complete: InvokeComplete): Buffer =>
  encodeMessage(
    { ':event-type': 'InvokeComplete', ':content-type': 'application/json', ':message-type': 'event' },
    Buffer.from(JSON.stringify(complete)),
  );
