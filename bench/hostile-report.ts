/**
 * The JSON-attack table of `bench:hostile`: each figure of a node under
 * attack against the same figure of an idle node, as how many times worse
 * it is, and whether that is within the target. Pure.
 */
import { percentile } from './stats.js';

/** Under attack, a figure may be at most this many times worse than idle. */
export const TIMES_IDLE_TARGET = 2;

/** What one run of a node (idle or under attack) measured. */
export interface RunFigures {
  readonly statusP50Ms: number;
  readonly statusP99Ms: number;
  readonly statusMaxMs: number;
  /** Longest the event loop was late (monitorEventLoopDelay's max). */
  readonly loopDelayMaxMs: number;
  /** Null when the node was not mining. */
  readonly blocksPerSecond: number | null;
  /** `/status` answers the figures rest on. */
  readonly samples: number;
}

export type Figure = 'statusP50Ms' | 'statusP99Ms' | 'statusMaxMs' | 'loopDelayMaxMs' | 'blocksPerSecond';

const FIGURE_NAMES: Readonly<Record<Figure, string>> = {
  statusP50Ms: '/status p50 (ms)',
  statusP99Ms: '/status p99 (ms)',
  statusMaxMs: '/status max (ms)',
  loopDelayMaxMs: 'longest loop stall (ms)',
  blocksPerSecond: 'blocks/s',
};

export interface Comparison {
  readonly attack: string;
  readonly figure: Figure;
  readonly idle: number;
  readonly attacked: number;
  /** How many times worse under attack: attacked / idle for times, idle / attacked for the block rate. */
  readonly timesWorse: number;
}

export function runFigures(latenciesMs: readonly number[], loopDelayMaxMs: number, blocksPerSecond: number | null): RunFigures {
  return {
    statusP50Ms: percentile(latenciesMs, 0.5) ?? NaN,
    statusP99Ms: percentile(latenciesMs, 0.99) ?? NaN,
    statusMaxMs: percentile(latenciesMs, 1) ?? NaN,
    loopDelayMaxMs,
    blocksPerSecond,
    samples: latenciesMs.length,
  };
}

/** More is better for the block rate, less for everything else; a figure that does not get worse is 1x at most. */
export function timesWorse(figure: Figure, idle: number, attacked: number): number {
  const [better, worse] = figure === 'blocksPerSecond' ? [attacked, idle] : [idle, attacked];
  if (worse === 0) return 0;
  return better > 0 ? worse / better : Infinity;
}

export function compare(attack: string, figures: readonly Figure[], idle: RunFigures, attacked: RunFigures): Comparison[] {
  return figures.map((figure) => {
    const a = idle[figure] ?? NaN;
    const b = attacked[figure] ?? NaN;
    return { attack, figure, idle: a, attacked: b, timesWorse: timesWorse(figure, a, b) };
  });
}

/** `ok` within the target, `OVER 2x` past it (flagged when the machine was busy, which inflates single samples such as a max). */
export function verdict(ratio: number, busy: boolean): string {
  if (Number.isNaN(ratio)) return 'n/a';
  if (ratio <= TIMES_IDLE_TARGET) return 'ok';
  return `OVER ${TIMES_IDLE_TARGET}x${busy ? ' (machine busy: rerun)' : ''}`;
}

export function renderComparisons(rows: readonly Comparison[], busy: boolean): string {
  const fmt = (n: number): string => (Number.isFinite(n) ? (Math.abs(n) >= 100 ? n.toFixed(0) : n.toFixed(1)) : String(n));
  const table = [
    ['attack', 'figure', 'idle', 'under attack', 'times idle', 'verdict'],
    ...rows.map((r) => [
      r.attack,
      FIGURE_NAMES[r.figure],
      fmt(r.idle),
      fmt(r.attacked),
      `${Number.isFinite(r.timesWorse) ? r.timesWorse.toFixed(2) : 'inf'}x`,
      verdict(r.timesWorse, busy),
    ]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  const line = (row: string[]): string => row.map((cell, i) => (i < 2 || i === 5 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  return `${[line(table[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(line)].join('\n')}\n`;
}
