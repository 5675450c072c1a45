import { describe, expect, it } from 'vitest';
import { numbersBody } from '../../../bench/hostile-attacker.js';
import { parseHostileArgs } from '../../../bench/hostile-options.js';
import { compare, renderComparisons, runFigures, timesWorse, verdict, type RunFigures } from '../../../bench/hostile-report.js';
import { ErrorCode } from '../../../src/errors.js';

describe('bench:hostile options', () => {
  it('defaults to both attacks, every sync body and JSON attack, 64 MiB from a plain jbc peer, 10 s a row, difficulty 3', () => {
    expect(parseHostileArgs([])).toEqual({
      attack: 'all',
      bodies: ['zeros', 'empties', 'blocks'],
      mib: 64,
      api: false,
      seconds: 10,
      targets: ['mined', 'data', 'status'],
      difficulty: 3,
    });
  });

  it('reads every option', () => {
    expect(
      parseHostileArgs([
        '--attack',
        'json',
        '--json-attack',
        'status',
        '--seconds',
        '2.5',
        '--difficulty',
        '4',
        '--mode',
        'blocks',
        '--mib',
        '8',
        '--peer',
        'api',
      ]),
    ).toEqual({ attack: 'json', bodies: ['blocks'], mib: 8, api: true, seconds: 2.5, targets: ['status'], difficulty: 4 });
  });

  it.each([
    [['--attack', 'dos'], /^--attack must be one of sync, json, all, got "dos"$/],
    [['--json-attack', 'peers'], /^--json-attack must be one of mined, data, status/],
    [['--mode', 'ones'], /^--mode must be one of zeros, empties, blocks/],
    [['--peer', 'python'], /^--peer must be one of api, jbc/],
    [['--seconds', '0'], /^--seconds must be a positive number/],
    [['--difficulty', '2.5'], /^--difficulty must be an integer from 1 to 64/],
    [['--frobnicate'], /^--frobnicate is not an option$/],
  ])('%j is a BAD_OPTION naming the option', (argv, message) => {
    expect(() => parseHostileArgs(argv)).toThrow(message);
    expect(() => parseHostileArgs(argv)).toThrow(expect.objectContaining({ code: ErrorCode.BAD_OPTION }));
  });
});

describe('bench:hostile attack bodies', () => {
  it('a numbers body is valid JSON of 1s, as long as the bytes allow and no longer', () => {
    const body = numbersBody(1024 * 1024);
    expect(body.length).toBeLessThanOrEqual(1024 * 1024);
    expect(body.length).toBeGreaterThan(1024 * 1024 - 2);
    const parsed = JSON.parse(body.toString()) as number[];
    expect(parsed.length).toBe((body.length - 1) / 2);
    expect(new Set(parsed)).toEqual(new Set([1]));
    expect(numbersBody(1).toString()).toBe('[1]');
  });
});

describe('bench:hostile against an idle node', () => {
  const idle: RunFigures = runFigures([2, 1, 3, 4, 10], 20, 5);

  it('summarises a run: nearest-rank /status percentiles and max, the loop stall and the block rate', () => {
    expect(idle).toEqual({ statusP50Ms: 3, statusP99Ms: 10, statusMaxMs: 10, loopDelayMaxMs: 20, blocksPerSecond: 5, samples: 5 });
  });

  it('says how many times worse a figure is under attack: more time is worse, fewer blocks are', () => {
    expect(timesWorse('statusP50Ms', 2, 5)).toBe(2.5);
    expect(timesWorse('loopDelayMaxMs', 40, 20)).toBe(0.5);
    expect(timesWorse('blocksPerSecond', 4.8, 1.2)).toBe(4);
    expect(timesWorse('blocksPerSecond', 4, 0)).toBe(Infinity);
    expect(timesWorse('statusMaxMs', 0, 0)).toBe(0);
  });

  it('a figure is ok up to 2x of idle and over past it, with a hint when the machine was busy', () => {
    expect(verdict(2, false)).toBe('ok');
    expect(verdict(2.01, false)).toBe('OVER 2x');
    expect(verdict(Infinity, true)).toBe('OVER 2x (machine busy: rerun)');
    expect(verdict(NaN, false)).toBe('n/a');
  });

  it('compares the figures asked for, one row each, and prints them as a table', () => {
    const attacked = runFigures([5, 6, 7, 8, 90], 30, 1);
    const rows = compare('mined replies', ['statusP50Ms', 'blocksPerSecond'], idle, attacked);
    expect(rows).toEqual([
      { attack: 'mined replies', figure: 'statusP50Ms', idle: 3, attacked: 7, timesWorse: 7 / 3 },
      { attack: 'mined replies', figure: 'blocksPerSecond', idle: 5, attacked: 1, timesWorse: 5 },
    ]);
    const table = renderComparisons(rows, false).split('\n');
    expect(table[0]).toMatch(/^attack\s+figure\s+idle\s+under attack\s+times idle\s+verdict$/);
    expect(table[2]).toMatch(/^mined replies\s+\/status p50 \(ms\)\s+3\.0\s+7\.0\s+2\.33x\s+OVER 2x$/);
    expect(table[3]).toMatch(/^mined replies\s+blocks\/s\s+5\.0\s+1\.0\s+5\.00x\s+OVER 2x$/);
  });
});
