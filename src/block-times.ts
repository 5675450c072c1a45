/**
 * How fast the chain grows, read from the blocks' own timestamps: the mean
 * time between the last blocks, and how many blocks were made in the last
 * minute. Pure: the caller passes the chain and the clock reading.
 *
 * Timestamps say when mining of a block began, on its miner's clock. This
 * node writes Unix seconds; a jbc peer writes `YYYYmmddHHMMSSffffff` in its
 * local time (read here as this machine's local time, the best guess there
 * is). A timestamp in neither form is skipped.
 */
import type { Block } from './block.js';
import type { ChainView } from './chain.js';

/** Blocks read back from the tip per request to the chain while counting. */
const PAGE = 256;

/** Milliseconds since the epoch of a block timestamp, or undefined when it is in no known form. */
export function timestampMs(timestamp: bigint): number | undefined {
  const text = timestamp.toString();
  // Unix seconds until the year 5138; milliseconds, as some miners write, from 2001 on.
  if (text.length <= 11) return Number(timestamp) * 1000;
  if (text.length <= 13) return Number(timestamp);
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{0,6})$/.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hours, minutes, seconds] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const ms = Math.floor(Number((m[7] ?? '').padEnd(6, '0')) / 1000);
  const at = new Date(year, month - 1, day, hours, minutes, seconds, ms).getTime();
  return Number.isNaN(at) ? undefined : at;
}

export interface MeanBlockTime {
  /** The first and last block of the span measured. */
  readonly from: bigint;
  readonly to: bigint;
  /** Seconds between the two blocks' timestamps divided by the blocks made in between (`to - from`). */
  readonly seconds: number;
}

/**
 * The mean time between the last `blocks` blocks (the tip and the ones
 * before it), from the first and last of them: undefined with fewer than two
 * blocks, or when either timestamp is in no known form.
 */
export function meanBlockTime(view: ChainView, blocks = 100): MeanBlockTime | undefined {
  const to = view.tip;
  if (to === undefined || blocks < 2) return undefined;
  const fromIndex = to.index - BigInt(blocks - 1) < 0n ? 0n : to.index - BigInt(blocks - 1);
  const from = view.at(fromIndex);
  if (from === undefined || from.index === to.index) return undefined;
  const start = timestampMs(from.timestamp);
  const end = timestampMs(to.timestamp);
  if (start === undefined || end === undefined) return undefined;
  return { from: from.index, to: to.index, seconds: (end - start) / 1000 / Number(to.index - from.index) };
}

export interface RecentBlocks {
  /** Blocks from the tip down whose timestamps are within the window. */
  readonly blocks: number;
  /** The oldest of them; undefined when there are none. */
  readonly from: bigint | undefined;
  /** True when the count stopped at `max` blocks rather than at an older block. */
  readonly capped: boolean;
}

/**
 * The blocks made within `windowMs` before `now`: counted from the tip down
 * to the first block older than that (a block with a timestamp in no known
 * form ends the count too), at most `max` of them.
 */
export function blocksSince(view: ChainView, now: number, windowMs = 60_000, max = 10_000): RecentBlocks {
  const since = now - windowMs;
  let count = 0;
  let oldest: Block | undefined;
  let next = view.height;
  while (next >= 0n) {
    const first = next - BigInt(PAGE - 1) < 0n ? 0n : next - BigInt(PAGE - 1);
    const page = view.range(first, Number(next - first + 1n));
    for (let i = page.length - 1; i >= 0; i--) {
      const block = page[i]!;
      const at = timestampMs(block.timestamp);
      if (at === undefined || at < since) return { blocks: count, from: oldest?.index, capped: false };
      if (count === max) return { blocks: count, from: oldest?.index, capped: true };
      count++;
      oldest = block;
    }
    next = first - 1n;
  }
  return { blocks: count, from: oldest?.index, capped: false };
}
