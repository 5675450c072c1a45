import { describe, expect, it } from 'vitest';
import { Lru } from '../../../src/store/lru.js';

describe('the cache of recent values', () => {
  it('keeps the most recently used, up to its count', () => {
    const lru = new Lru<number, string>(2);
    lru.set(1, 'a');
    lru.set(2, 'b');
    lru.get(1);
    lru.set(3, 'c');
    expect([lru.get(1), lru.get(2), lru.get(3)]).toEqual(['a', undefined, 'c']);
  });

  it('with a weight, drops the oldest until the total fits, and never keeps one heavier than the limit', () => {
    const lru = new Lru<number, string>(100, { max: 10, of: (value) => value.length });
    lru.set(1, 'aaaa');
    lru.set(2, 'bbbb');
    lru.set(3, 'cccc');
    expect([lru.get(1), lru.get(2), lru.get(3)]).toEqual([undefined, 'bbbb', 'cccc']);
    expect(lru.weight).toBe(8);
    lru.set(4, 'x'.repeat(11));
    expect([lru.get(4), lru.size, lru.weight]).toEqual([undefined, 2, 8]);
    lru.set(2, 'bb');
    lru.deleteWhere((key) => key === 3);
    expect([lru.size, lru.weight]).toEqual([1, 2]);
  });
});
