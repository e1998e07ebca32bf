// Lambda's SQS event, from messages as the SQS API returns them (ReceiveMessage). Pure: no
// client, no clock. https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html
import type { Message, MessageAttributeValue } from '@aws-sdk/client-sqs';

/** One record of `{ Records: [...] }` as a function receives it. */
export interface SqsEventRecord {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: Record<string, string>;
  messageAttributes: Record<string, SqsEventMessageAttribute>;
  md5OfBody: string;
  md5OfMessageAttributes?: string;
  eventSource: 'aws:sqs';
  eventSourceARN: string;
  awsRegion: string;
}

/** A message attribute as Lambda writes it: camelCase, binary values in base64. */
export interface SqsEventMessageAttribute {
  stringValue?: string;
  binaryValue?: string;
  stringListValues: string[];
  binaryListValues: string[];
  dataType: string;
}

/**
 * The queue's ARN from its URL (`<endpoint>/<account>/<name>`), for queues whose server does
 * not report QueueArn.
 */
export function queueArnFromUrl(queueUrl: string, region: string): string {
  const [account = '000000000000', name = ''] = new URL(queueUrl).pathname.split('/').filter(Boolean);
  return `arn:aws:sqs:${region}:${account}:${name}`;
}

const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');

function eventAttribute(value: MessageAttributeValue): SqsEventMessageAttribute {
  return {
    ...(value.StringValue !== undefined && { stringValue: value.StringValue }),
    ...(value.BinaryValue !== undefined && { binaryValue: base64(value.BinaryValue) }),
    stringListValues: value.StringListValues ?? [],
    binaryListValues: (value.BinaryListValues ?? []).map(base64),
    dataType: value.DataType ?? 'String',
  };
}

/** A received message as Lambda's SQS event record. */
export function sqsEventRecord(message: Message, queueArn: string, region: string): SqsEventRecord {
  const attributes = Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, eventAttribute(value)]),
  );
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: { ...message.Attributes },
    messageAttributes: attributes,
    md5OfBody: message.MD5OfBody ?? '',
    ...(message.MD5OfMessageAttributes !== undefined && {
      md5OfMessageAttributes: message.MD5OfMessageAttributes,
    }),
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/** JSON text parsed, anything else left as it is: how filter criteria see a payload. */
export function parsedIfJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The record as Lambda's filter criteria match it: `body` parsed when it is JSON. */
export function sqsFilterView(record: SqsEventRecord): Record<string, unknown> {
  return { ...record, body: parsedIfJson(record.body) };
}
