import { afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../../../src/log.js';
import { BlockActivity } from '../../../src/metrics/block-activity.js';

const open: BlockActivity[] = [];
afterEach(() => {
  for (const activity of open.splice(0)) activity.close();
});

function recording() {
  const lines: Array<{ msg: string; fields: Readonly<Record<string, unknown>> }> = [];
  const log = (fields: Readonly<Record<string, unknown>>, msg: string) => lines.push({ fields, msg });
  const logger: Logger = { error: log, warn: log, info: log, debug: log, child: () => logger };
  return { logger, lines };
}

describe('block activity in the logs', () => {
  it('keeps per-block lines at info up to one block a second, and drops them to debug above that', () => {
    let now = 0;
    const activity = new BlockActivity({ summaryIntervalMs: 60_000 }, { logger: recording().logger, height: () => 0n, metrics: undefined, now: () => now });
    open.push(activity);
    expect(activity.mined()).toBe('info');
    now = 1_500;
    expect(activity.accepted()).toBe('info');
    now = 1_700;
    expect(activity.mined()).toBe('debug');
    now = 1_900;
    expect(activity.accepted()).toBe('debug');
    now = 5_000;
    expect(activity.mined()).toBe('info');
  });

  it('sums up each interval: blocks mined and accepted, height, rate; and says nothing when no block came', async () => {
    const { logger, lines } = recording();
    const activity = new BlockActivity({ summaryIntervalMs: 20 }, { logger, height: () => 41n, metrics: undefined });
    open.push(activity);
    activity.mined();
    activity.mined();
    activity.accepted();
    while (lines.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(lines[0]!.fields).toEqual({ mined: 2, accepted: 1, height: 41, blocksPerMinute: 9000 });
    const seen = lines.length;
    activity.accepted();
    while (lines.length === seen) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(lines.at(-1)!.fields).toMatchObject({ mined: 0, accepted: 1 });
  });
});
