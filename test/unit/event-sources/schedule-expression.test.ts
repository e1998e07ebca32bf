// EventBridge schedule expressions: rate() ticks from the epoch, cron() in AWS's dialect and
// a time zone, which tick is due, and the Scheduled Event shape.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  dueTick,
  nextTick,
  parseSchedule,
  ScheduleExpressionError,
  scheduledEvent,
  tickAtOrBefore,
} from '../../../operator/src/event-sources/schedule-expression.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

describe('schedule expressions', () => {
  it('ticks rate(1 minute) on every minute boundary', () => {
    const s = parseSchedule('rate(1 minute)');
    assert.equal(iso(tickAtOrBefore(s, at('2026-12-01T10:00:59.999Z'))), '2026-12-01T10:00:00.000Z');
    assert.equal(iso(nextTick(s, at('2026-12-01T10:00:00.000Z'))), '2026-12-01T10:01:00.000Z');
    assert.equal(
      iso(nextTick(parseSchedule('rate(2 hours)'), at('2026-12-01T10:30:00Z'))),
      '2026-12-01T12:00:00.000Z',
    );
  });

  it('evaluates cron() with AWS day-of-week numbers, L, W and #', () => {
    const from = at('2026-02-01T00:00:00Z');
    assert.equal(iso(nextTick(parseSchedule('cron(0 12 ? * 6#3 *)'), from)), '2026-02-20T12:00:00.000Z'); // 3rd Friday
    assert.equal(iso(nextTick(parseSchedule('cron(0 12 L * ? *)'), from)), '2026-02-28T12:00:00.000Z');
    assert.equal(iso(nextTick(parseSchedule('cron(0 12 15W * ? *)'), from)), '2026-02-16T12:00:00.000Z');
    assert.equal(iso(nextTick(parseSchedule('cron(0 12 ? * 2 2027)'), from)), '2027-01-04T12:00:00.000Z'); // a Monday
    assert.equal(
      iso(nextTick(parseSchedule('cron(0/15 * ? * MON-FRI *)'), at('2026-12-05T12:00:00Z'))),
      '2026-12-07T00:00:00.000Z',
    );
  });

  it('evaluates cron() in its time zone, across a daylight-saving change', () => {
    const s = parseSchedule('cron(0 3 * * ? *)', 'Europe/Paris');
    assert.equal(iso(nextTick(s, at('2026-03-28T12:00:00Z'))), '2026-03-29T01:00:00.000Z'); // CEST from that night
    assert.equal(iso(nextTick(s, at('2026-03-27T12:00:00Z'))), '2026-03-28T02:00:00.000Z'); // CET
  });

  it('refuses what EventBridge refuses', () => {
    for (const bad of [
      'rate(1 minutes)',
      'rate(5 minute)',
      'rate(0 minutes)',
      'cron(0 12 * * * *)',
      'cron(0 12 ? * ? *)',
      'cron(0 25 * * ? *)',
      'every minute',
    ])
      assert.throws(() => parseSchedule(bad), ScheduleExpressionError, bad);
  });

  it('delivers the latest tick once, and not a tick older than the lateness bound', () => {
    const s = parseSchedule('rate(1 minute)');
    const now = at('2026-12-01T10:05:10Z');
    assert.equal(iso(dueTick(s, now, undefined, 60_000)), '2026-12-01T10:05:00.000Z');
    assert.equal(dueTick(s, now, at('2026-12-01T10:05:00Z'), 60_000), undefined);
    assert.equal(iso(dueTick(s, now, at('2026-12-01T10:01:00Z'), 60_000)), '2026-12-01T10:05:00.000Z');
    assert.equal(dueTick(s, at('2026-12-01T10:05:50Z'), undefined, 30_000), undefined);
  });

  it("builds EventBridge's Scheduled Event", () => {
    const event = scheduledEvent({
      id: 'abc',
      tick: at('2026-12-01T10:05:00Z'),
      region: 'us-east-1',
      account: 'team-a',
      ruleArn: 'arn:aws:events:us-east-1:team-a:rule/nightly',
    });
    assert.deepEqual(event, {
      version: '0',
      id: 'abc',
      'detail-type': 'Scheduled Event',
      source: 'aws.events',
      account: 'team-a',
      time: '2026-12-01T10:05:00Z',
      region: 'us-east-1',
      resources: ['arn:aws:events:us-east-1:team-a:rule/nightly'],
      detail: {},
    });
  });
});
