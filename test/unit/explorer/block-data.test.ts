import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { sha256Hex } from '../../../explorer/src/sha256.js';

describe("the explorer's SHA-256", () => {
  it('equals node:crypto on texts of every padding length, multi-byte characters and a long one', () => {
    const texts = ['', 'abc', '✓ pay bob 5 💸', 'x'.repeat(100_000), ...Array.from({ length: 130 }, (_, n) => 'a'.repeat(n))];
    for (const text of texts) expect(sha256Hex(text), `${text.length} characters`).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
  });
});

describe("the explorer's reading of block data", () => {
  it('decodes entries as the node packs them, with the ids the node gives them, and the miner', async () => {
    const { decodeBlockData } = await import('../../../explorer/src/entries.js');
    const { packBlockData, unpackBlockData } = await import('../../../src/entries.js');
    const { initHashing } = await import('../../../src/hash.js');
    await initHashing();
    const texts = ['pay bob 5', '✓ ünïcode', 'pay bob 5', '<b>markup</b>'];
    const packed = packBlockData(
      7n,
      'http://127.0.0.1:5000/',
      texts.map((data) => ({ id: '', data })),
    );
    const decoded = decodeBlockData(packed);
    expect(decoded.format).toBe('entries');
    expect(decoded.miner).toBe('http://127.0.0.1:5000/');
    expect(decoded.entries).toEqual(unpackBlockData(packed));
    expect(decodeBlockData(packBlockData(7n, 'http://127.0.0.1:5000/', []))).toEqual({ format: 'plain', entries: [], miner: 'http://127.0.0.1:5000/' });
    expect(decodeBlockData('I block #1')).toEqual({ format: 'plain', entries: [], miner: null });
    expect(decodeBlockData('jbc-ts/entries/1 {not json')).toEqual({ format: 'plain', entries: [], miner: null });
  });
});
