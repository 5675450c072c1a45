import { afterEach, describe, expect, it } from 'vitest';
import { HashrateHistory } from '../../../src/metrics/hashrate-history.js';
import { ReorgLog } from '../../../src/metrics/reorg-log.js';

const open: HashrateHistory[] = [];
afterEach(() => {
  for (const history of open.splice(0)) history.close();
});

describe('hash-rate history', () => {
  it('keeps one sample per call while mining, and only the window of them', () => {
    let now = 0;
    let mining = { enabled: true, workers: 2, hashrate: 10, perWorker: [4, 6], hashes: 100 };
    const history = new HashrateHistory({ intervalMs: 1_000_000, windowMs: 5_000 }, { mining: () => mining, now: () => now });
    open.push(history);
    expect(history.view()).toEqual({ intervalMs: 1_000_000, windowMs: 5_000, samples: [] });
    history.sample();
    now = 3_000;
    mining = { ...mining, hashrate: 12, perWorker: [6, 6], hashes: 130 };
    history.sample();
    expect(history.view().samples).toEqual([
      { at: 0, total: 10, perWorker: [4, 6], hashes: 100 },
      { at: 3_000, total: 12, perWorker: [6, 6], hashes: 130 },
    ]);
    now = 6_000;
    mining = { ...mining, enabled: false, workers: 0 };
    history.sample();
    expect(history.view().samples.map((s) => s.at)).toEqual([3_000]);
    now = 9_000;
    expect(history.view().samples).toEqual([]);
  });

  it('samples on its own timer', async () => {
    const history = new HashrateHistory({ intervalMs: 5 }, { mining: () => ({ enabled: true, workers: 1, hashrate: 1, perWorker: [1], hashes: 1 }) });
    open.push(history);
    while (history.view().samples.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    const at = history.view().samples.map((s) => s.at);
    expect(at).toEqual([...at].sort((a, b) => a - b));
  });

  it('refuses an interval that is not a positive integer', () => {
    expect(() => new HashrateHistory({ intervalMs: 0 }, { mining: () => ({ enabled: false, workers: 0, hashrate: 0, perWorker: [], hashes: 0 }) })).toThrow(
      'options.intervalMs must be a positive integer',
    );
  });
});

describe('reorg log', () => {
  it('records switches to another fork with their fork point, and only those', () => {
    let now = 1_000;
    const log = new ReorgLog({ windowMs: 10_000 }, { height: 11n, now: () => now });
    log.observe(12n, 0, 'mined');
    log.observe(13n, 7, 'sync'); // blocks 6-12 replaced by 6-13
    now = 2_000;
    log.observe(13n, 1, 'peer');
    log.observe(10n, 3, 'repair');
    expect(log.summary()).toEqual({
      windowMs: 10_000,
      count: 2,
      recent: [
        { at: 2_000, forkPoint: '12', abandoned: 1, added: 1, height: '13', source: 'peer' },
        { at: 1_000, forkPoint: '5', abandoned: 7, added: 8, height: '13', source: 'sync' },
      ],
    });
    now = 11_500;
    expect(log.summary().recent.map((r) => r.at)).toEqual([2_000]);
  });

  it('keeps at most the configured number of reorgs', () => {
    const log = new ReorgLog({ maxReorgs: 2 }, { height: 0n, now: () => 0 });
    for (let i = 1n; i <= 3n; i++) log.observe(i, 1, 'peer');
    expect(log.summary().recent.map((r) => r.height)).toEqual(['3', '2']);
  });
});
