import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.js';
import { ENTRIES_PREFIX, entriesForBlock, packBlockData, toEntry, unpackBlockData } from '../../src/entries.js';
import { thrown } from '../helpers/thrown.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const miner = 'http://127.0.0.1:5000/';

describe('a data entry', () => {
  it('is identified by the SHA-256 of its UTF-8 text, so the same data is one entry', () => {
    expect(toEntry('hello, chain')).toEqual({ id: sha256('hello, chain'), data: 'hello, chain' });
    expect(toEntry('héllo ✓').id).toBe(sha256('héllo ✓'));
  });

  it('must be a non-empty string of well-formed Unicode within the size limit', () => {
    expect(thrown(() => toEntry(42))).toMatchObject({ code: ErrorCode.BAD_REQUEST });
    expect(thrown(() => toEntry(''))).toMatchObject({ code: ErrorCode.BAD_REQUEST });
    expect(thrown(() => toEntry('x\ud800y'))).toMatchObject({ code: ErrorCode.BAD_REQUEST });
    expect(toEntry('pair \ud83d\ude00').data).toBe('pair 😀');
    const limits = { maxEntryBytes: 4, maxBlockDataBytes: 100 };
    expect(toEntry('abcd', limits).data).toBe('abcd');
    expect(thrown(() => toEntry('ééé', limits))).toMatchObject({ code: ErrorCode.PAYLOAD_TOO_LARGE });
  });
});

describe('entries in block data', () => {
  it('an empty pool mines the plain line, which holds no entries', () => {
    const data = packBlockData(7n, miner, []);
    expect(data).toBe('jbc-ts block #7 mined by http://127.0.0.1:5000/');
    expect(unpackBlockData(data)).toEqual([]);
  });

  it('round-trip through the versioned format, which stays one plain string', () => {
    const entries = [toEntry('first'), toEntry('second "quoted"\nline'), toEntry('ünïcode')];
    const data = packBlockData(3n, miner, entries);
    expect(data.startsWith(ENTRIES_PREFIX)).toBe(true);
    expect(JSON.parse(data.slice(ENTRIES_PREFIX.length))).toEqual({ miner, entries: entries.map((e) => e.data) });
    expect(unpackBlockData(data)).toEqual(entries);
  });

  it('free text from jbc, or a malformed payload, is opaque: no entries, never an error', () => {
    for (const data of ['I block #3', `${ENTRIES_PREFIX}{not json`, `${ENTRIES_PREFIX}{"entries":"x"}`, `${ENTRIES_PREFIX}null`]) {
      expect(unpackBlockData(data)).toEqual([]);
    }
    expect(unpackBlockData(`${ENTRIES_PREFIX}{"entries":["a",1,"a","","b"]}`).map((e) => e.data)).toEqual(['a', 'b']);
  });

  it('are chosen oldest first up to the block data limit; one that does not fit is skipped for later ones that do', () => {
    const pending = [toEntry('a'.repeat(40)), toEntry('b'.repeat(40)), toEntry('c')];
    const exactly = (n: number) => Buffer.byteLength(packBlockData(1n, miner, pending.slice(0, n)));
    const take = (maxBlockDataBytes: number) => entriesForBlock(pending, miner, { maxEntryBytes: 100, maxBlockDataBytes }).map((e) => e.data[0]);
    expect(take(exactly(3))).toEqual(['a', 'b', 'c']);
    expect(take(exactly(3) - 1)).toEqual(['a', 'b']);
    expect(take(exactly(2) - 1)).toEqual(['a', 'c']);
    expect(take(exactly(1) - 1)).toEqual(['c']);
  });

  it('an entry too large for any block does not keep the ones after it out', () => {
    // As it may come back from a peer's block: past this node's entry limit and its block limit.
    const huge = toEntry('h'.repeat(70_000), { maxEntryBytes: 100_000, maxBlockDataBytes: 100_000 });
    const pending = [huge, toEntry('first'), toEntry('second')];
    expect(entriesForBlock(pending, miner).map((e) => e.data)).toEqual(['first', 'second']);
  });
});
