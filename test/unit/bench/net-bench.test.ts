import { describe, expect, it } from 'vitest';
import {
  agreement,
  agreesAt,
  commonHeight,
  metricValue,
  parseNetBenchArgs,
  propagation,
  readLogLine,
  SseReader,
  type AgreementSample,
} from '../../../bench/net-bench.js';
import { percentile } from '../../../bench/stats.js';

const line = (fields: Record<string, unknown>): string => JSON.stringify({ level: 'info', time: '2026-12-03T10:00:00.000Z', ...fields });

describe('bench:net options', () => {
  it('a target block time warms the network up for 60 s unless --warmup says otherwise', () => {
    expect(parseNetBenchArgs(['--target-block-time', '2'])).toMatchObject({ targetBlockTime: 2, warmupSeconds: 60 });
    expect(parseNetBenchArgs(['--target-block-time', '2', '--warmup', '0'])).toMatchObject({ targetBlockTime: 2, warmupSeconds: 0 });
    expect(() => parseNetBenchArgs(['--target-block-time', '-1'])).toThrow(/--target-block-time/);
  });

  it('defaults to 4 nodes, 60 s, difficulty 5, 1 worker, no latency, the fixed rule with no warm-up', () => {
    expect(parseNetBenchArgs([])).toMatchObject({
      nodes: 4,
      seconds: 60,
      difficulty: 5,
      workers: 1,
      latencyMs: 0,
      targetBlockTime: 0,
      warmupSeconds: 0,
      json: false,
    });
  });

  it('reads every option', () => {
    expect(parseNetBenchArgs(['--nodes', '8', '--seconds', '30', '--difficulty', '4', '--workers', '2', '--latency', '50', '--json'])).toMatchObject({
      nodes: 8,
      seconds: 30,
      difficulty: 4,
      workers: 2,
      latencyMs: 50,
      json: true,
    });
  });

  it('a bad value is one line naming the option', () => {
    expect(() => parseNetBenchArgs(['--nodes', '1'])).toThrow(/^--nodes must be an integer from 2 to 16/);
    expect(() => parseNetBenchArgs(['--nodes', '17'])).toThrow(/^--nodes /);
    expect(() => parseNetBenchArgs(['--latency', '-5'])).toThrow(/^--latency /);
    expect(() => parseNetBenchArgs(['--seconds', '0'])).toThrow(/^--seconds must be a positive number/);
    expect(() => parseNetBenchArgs(['--frobnicate'])).toThrow(/^--frobnicate is not an option \(see --help\)$/);
  });
});

describe('bench:net log lines', () => {
  it('a mined block line gives its index and hash, whatever its level', () => {
    expect(readLogLine(line({ level: 'debug', msg: 'mined block #7', index: 7, hash: 'ab'.repeat(32), nonce: '12' }))).toEqual({
      mined: { index: 7, hash: 'ab'.repeat(32) },
    });
  });

  it('a line with abandoned above 0, at any level, is a reorg of that depth', () => {
    expect(readLogLine(line({ msg: 'adopted longer chain from peer', abandoned: 3, written: 4, downloaded: 5 }))).toEqual({ abandoned: 3 });
    expect(readLogLine(line({ level: 'debug', msg: 'switched to a longer fork from held blocks', abandoned: 1 }))).toEqual({ abandoned: 1 });
    expect(readLogLine(line({ msg: 'adopted longer chain from peer', abandoned: 0, written: 4 }))).toBeUndefined();
  });

  it('the tip-switch line gives switchMs', () => {
    expect(readLogLine(line({ level: 'debug', msg: 'search moved to new tip', switchMs: 1.25 }))).toEqual({ switchMs: 1.25 });
    expect(readLogLine(line({ level: 'debug', msg: 'search moved to new tip' }))).toBeUndefined();
  });

  it('other lines and broken JSON say nothing', () => {
    expect(readLogLine(line({ level: 'debug', msg: 'request', path: '/status' }))).toBeUndefined();
    expect(readLogLine('{"msg": "mined block #1", "hash": ')).toBeUndefined();
    expect(readLogLine('mined block #1 (pretty)')).toBeUndefined();
  });
});

describe('bench:net percentiles', () => {
  it('nearest rank: p50 and p99 of 1..100 are 50 and 99; of one value, that value', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([3, 1, 2], 0.5)).toBe(2);
  });

  it('no values: null', () => {
    expect(percentile([], 0.5)).toBeNull();
  });
});

describe('bench:net agreement', () => {
  const blocks = (entries: Array<[number, string]>) => new Map(entries);

  it('agrees at depth d when every node holds the same block at the lowest tip minus d-1', () => {
    const sample: AgreementSample = {
      low: 10,
      nodes: [
        blocks([
          [8, 'x'],
          [9, 'a'],
          [10, 'b'],
        ]),
        blocks([
          [8, 'x'],
          [9, 'a'],
          [10, 'c'],
          [11, 'd'],
        ]),
      ],
    };
    expect(agreesAt(sample, 1)).toBe(false);
    expect(agreesAt(sample, 2)).toBe(true);
    expect(agreesAt(sample, 3)).toBe(true);
  });

  it('a node missing the block disagrees; a height below 0 does not count', () => {
    const sample: AgreementSample = {
      low: 1,
      nodes: [
        blocks([
          [0, 'g'],
          [1, 'a'],
        ]),
        blocks([[0, 'g']]),
      ],
    };
    expect(agreesAt(sample, 1)).toBe(false);
    expect(agreesAt(sample, 2)).toBe(true);
    expect(agreesAt(sample, 3)).toBeNull();
  });

  it('the percent is over the samples that count', () => {
    const agree: AgreementSample = { low: 0, nodes: [blocks([[0, 'g']]), blocks([[0, 'g']])] };
    const differ: AgreementSample = { low: 0, nodes: [blocks([[0, 'g']]), blocks([[0, 'h']])] };
    expect(agreement([agree, agree, agree, differ], 1)).toEqual({ depth: 1, samples: 4, agreed: 3, percent: 75 });
    expect(agreement([agree, differ], 3)).toEqual({ depth: 3, samples: 0, agreed: 0, percent: null });
  });

  it('the chains read at the end are alike up to their common height', () => {
    expect(
      commonHeight([
        ['g', 'a', 'b'],
        ['g', 'a', 'c', 'd'],
        ['g', 'a'],
      ]),
    ).toBe(1);
    expect(commonHeight([['g'], ['h']])).toBe(-1);
  });
});

describe('bench:net propagation', () => {
  it('runs from the mining to the last node that showed the block; blocks not mined in the window are left out', () => {
    const minedAt = new Map([
      ['b1', 100],
      ['b2', 200],
    ]);
    const seen = [
      new Map([
        ['b1', 101],
        ['b2', 200],
      ]),
      new Map([
        ['b1', 150],
        ['b2', 260],
      ]),
      new Map([['b1', 120]]),
    ];
    expect(propagation(['g', 'b1', 'b2'], minedAt, seen)).toEqual({ ms: [50], missing: 1 });
  });
});

describe('bench:net metrics and events', () => {
  it('sums every series of a metric, and not of metrics whose names only start alike', () => {
    const text = [
      '# HELP jbc_sync_blocks_downloaded_total Blocks downloaded by syncs',
      '# TYPE jbc_sync_blocks_downloaded_total counter',
      'jbc_sync_blocks_downloaded_total 12',
      'jbc_sync_blocks_downloaded_total_extra 99',
      'jbc_blocks_rejected_total{reason="known"} 3',
      'jbc_blocks_rejected_total{reason="stale"} 4',
    ].join('\n');
    expect(metricValue(text, 'jbc_sync_blocks_downloaded_total')).toBe(12);
    expect(metricValue(text, 'jbc_blocks_rejected_total')).toBe(7);
    expect(metricValue(text, 'jbc_absent_total')).toBe(0);
  });

  it('reads events split anywhere, skipping comments and retry lines', () => {
    const reader = new SseReader();
    const text = 'retry: 2000\n\nevent: tip\ndata: {"height":"1"}\n\n: keep-alive\n\nevent: block\ndata: {"hash":"ab"}\n\n';
    const events = [];
    for (let i = 0; i < text.length; i += 7) events.push(...reader.push(text.slice(i, i + 7)));
    expect(events).toEqual([
      { event: 'tip', data: '{"height":"1"}' },
      { event: 'block', data: '{"hash":"ab"}' },
    ]);
  });
});
