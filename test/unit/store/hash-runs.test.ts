import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mergeRecords, Run, writeRun } from '../../../src/store/hash-runs.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'jbc-runs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Sorted 16-byte records: random 8-byte tags (some shared by several records), then a counter. */
function records(count: number, sharedEvery = 50): Buffer[] {
  const list: Buffer[] = [];
  let tag = randomBytes(8);
  for (let i = 0; i < count; i++) {
    if (i % sharedEvery !== 0) tag = randomBytes(8);
    const record = Buffer.alloc(16);
    tag.copy(record);
    record.writeBigUInt64BE(BigInt(i), 8);
    list.push(record);
  }
  return list.sort(Buffer.compare);
}

const hex = (list: Buffer[]) => list.map((r) => r.toString('hex'));

describe('hash index run files', () => {
  it('find returns exactly the records with a tag, across the 256-record blocks a lookup reads', async () => {
    const all = records(10_000, 3);
    expect((await writeRun(dir, 1, all)).count).toBe(10_000);
    const run = Run.open(dir, 1);
    try {
      expect(run.count).toBe(10_000);
      for (let i = 0; i < all.length; i += 37) {
        const tag = all[i]!.subarray(0, 8);
        expect(hex(run.find(tag))).toEqual(hex(all.filter((r) => r.subarray(0, 8).equals(tag))));
      }
      for (const tag of [Buffer.alloc(8, 0), Buffer.alloc(8, 0xff), randomBytes(8)]) {
        expect(hex(run.find(tag))).toEqual(hex(all.filter((r) => r.subarray(0, 8).equals(tag))));
      }
    } finally {
      run.close();
    }
  });

  it('merging runs gives every record once, in order', async () => {
    const parts = [records(3000), records(10), records(700)];
    const shared = parts[0]![5]!;
    parts[2] = [...parts[2]!, shared].sort(Buffer.compare);
    for (const [i, part] of parts.entries()) await writeRun(dir, i, part);
    const runs = parts.map((_, i) => Run.open(dir, i));
    try {
      expect((await writeRun(dir, 9, mergeRecords(runs))).count).toBe(3710);
      const merged = Run.open(dir, 9);
      expect(hex(merged.find(shared.subarray(0, 8)))).toContain(shared.toString('hex'));
      merged.close();
      const distinct = [...new Set(hex(parts.flat()))].sort();
      expect(hex([...mergeRecords(runs)])).toEqual(distinct);
    } finally {
      for (const run of runs) run.close();
    }
  });
});
