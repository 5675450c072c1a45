/**
 * `npm run bench:db`: the measurement behind the choice of the embedded
 * database, LMDB (lmdb-js) against LevelDB (classic-level), on the store's
 * workloads: one durable block per transaction, batches of 1000, random
 * synchronous reads by height and by hash, a full ordered scan, open time
 * and disk size. Keys and values are laid out as the store lays them out
 * (8-byte big-endian heights, raw 32-byte hashes, output-form JSON bytes).
 *
 * Kept runnable after the choice was made: classic-level is no longer a
 * dependency, so its rows are skipped with a note unless it is installed
 * (`npm install --no-save classic-level`).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { blockToJson, type Block } from '../src/block.js';
import { generateChain, inBatches } from './chain-gen.js';
import { describeMachine } from './machine.js';

interface Kv {
  /** Writes all pairs of both tables in one durable transaction. */
  write(blocks: readonly [Buffer, Buffer][], index: readonly [Buffer, Buffer][]): Promise<void>;
  getBlock(key: Buffer): Buffer | undefined;
  getHeight(hash: Buffer): Buffer | undefined;
  scan(): Promise<number>;
  close(): Promise<void>;
}

type Opener = (dir: string) => Promise<Kv>;

const heightKey = (height: bigint): Buffer => {
  const key = Buffer.alloc(8);
  key.writeBigUInt64BE(height);
  return key;
};
const encode = (block: Block): Buffer => Buffer.from(JSON.stringify(blockToJson(block)));

async function openLmdb(dir: string): Promise<Kv> {
  const { open } = await import('lmdb');
  const root = open({ path: join(dir, 'chain.mdb'), noSubdir: true, overlappingSync: false, maxDbs: 4 });
  const blocks = root.openDB({ name: 'blocks', keyEncoding: 'binary', encoding: 'binary' });
  const hashes = root.openDB({ name: 'hashes', keyEncoding: 'binary', encoding: 'binary' });
  return {
    async write(b, h) {
      await root.transaction(() => {
        for (const [k, v] of b) blocks.put(k, v);
        for (const [k, v] of h) hashes.put(k, v);
      });
    },
    getBlock: (key) => blocks.getBinary(key) ?? undefined,
    getHeight: (hash) => hashes.getBinary(hash) ?? undefined,
    async scan() {
      let n = 0;
      for (const { value } of blocks.getRange({})) {
        JSON.parse((value as Buffer).toString('utf8'));
        n++;
      }
      return n;
    },
    close: () => root.close(),
  };
}

/** The part of classic-level's API used here, typed locally so the bench compiles without the package. */
interface LevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
  sublevel(name: string, options: object): LevelTable;
  batch(): { put(key: Buffer, value: Buffer, options: { sublevel: LevelTable }): void; write(options: { sync: boolean }): Promise<void> };
}
interface LevelTable {
  open(): Promise<void>;
  getSync(key: Buffer): Buffer | undefined;
  values(): AsyncIterable<Buffer>;
}

async function openLevel(dir: string): Promise<Kv | string> {
  let ClassicLevel: new (path: string, options: object) => LevelDb;
  try {
    const name = 'classic-level'; // not a dependency: see the header
    ({ ClassicLevel } = (await import(name)) as { ClassicLevel: typeof ClassicLevel });
  } catch {
    return 'classic-level is not installed (npm install --no-save classic-level)';
  }
  const db = new ClassicLevel(join(dir, 'level'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  await db.open();
  const blocks = db.sublevel('b', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  const hashes = db.sublevel('h', { keyEncoding: 'buffer', valueEncoding: 'buffer' });
  // A sublevel created after its parent opened opens asynchronously; getSync needs it open.
  await Promise.all([blocks.open(), hashes.open()]);
  return {
    async write(b, h) {
      const batch = db.batch();
      for (const [k, v] of b) batch.put(k, v, { sublevel: blocks });
      for (const [k, v] of h) batch.put(k, v, { sublevel: hashes });
      await batch.write({ sync: true });
    },
    getBlock: (key) => blocks.getSync(key),
    getHeight: (hash) => hashes.getSync(hash),
    async scan() {
      let n = 0;
      for await (const value of blocks.values()) {
        JSON.parse(value.toString('utf8'));
        n++;
      }
      return n;
    },
    close: () => db.close(),
  };
}

function pairs(batch: readonly Block[]): { b: [Buffer, Buffer][]; h: [Buffer, Buffer][] } {
  return {
    b: batch.map((block) => [heightKey(block.index), encode(block)]),
    h: batch.map((block) => [Buffer.from(block.hash, 'hex'), heightKey(block.index)]),
  };
}

interface Row {
  readonly db: string;
  readonly [metric: string]: string | number;
}

async function measure(
  name: string,
  opener: (dir: string) => Promise<Kv | string>,
  chain: readonly Block[],
  appends: readonly Block[],
  reads: number,
): Promise<Row> {
  const dir = await mkdtemp(join(tmpdir(), `jbc-db-bench-${name}-`));
  try {
    const kv = await opener(dir);
    if (typeof kv === 'string') return { db: name, note: kv };
    let t = performance.now();
    for (const batch of inBatches(chain, 1000)) {
      const { b, h } = pairs(batch);
      await kv.write(b, h);
    }
    const batchPerSec = chain.length / ((performance.now() - t) / 1000);

    t = performance.now();
    for (const block of appends) {
      const { b, h } = pairs([block]);
      await kv.write(b, h);
    }
    const appendPerSec = appends.length / ((performance.now() - t) / 1000);
    const length = chain.length + appends.length;

    const heights = Array.from({ length: reads }, () => heightKey(BigInt(Math.floor(Math.random() * length))));
    t = performance.now();
    for (const key of heights) JSON.parse(kv.getBlock(key)!.toString('utf8'));
    const readHeightPerSec = reads / ((performance.now() - t) / 1000);

    const hashes = Array.from({ length: reads }, () => Buffer.from(chain[Math.floor(Math.random() * chain.length)]!.hash, 'hex'));
    t = performance.now();
    for (const hash of hashes) JSON.parse(kv.getBlock(kv.getHeight(hash)!)!.toString('utf8'));
    const readHashPerSec = reads / ((performance.now() - t) / 1000);

    t = performance.now();
    const scanned = await kv.scan();
    const scanPerSec = scanned / ((performance.now() - t) / 1000);
    await kv.close();

    t = performance.now();
    const reopened = (await opener(dir)) as Kv;
    const tip = reopened.getBlock(heightKey(BigInt(length - 1)));
    const openMs = performance.now() - t;
    if (tip === undefined) throw new Error(`${name}: tip missing after reopen`);
    await reopened.close();
    const diskMiB = Number(execFileSync('du', ['-sk', dir], { encoding: 'utf8' }).split('\t')[0]) / 1024;
    return { db: name, batchPerSec, appendPerSec, readHeightPerSec, readHashPerSec, scanPerSec, openMs, diskMiB };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      blocks: { type: 'string', default: '100000' },
      appends: { type: 'string', default: '1000' },
      reads: { type: 'string', default: '100000' },
    },
  });
  const blocks = Number(values.blocks);
  const appendCount = Number(values.appends);
  const reads = Number(values.reads);
  if (![blocks, appendCount, reads].every((n) => Number.isSafeInteger(n) && n > 0)) {
    process.stderr.write('bench:db: --blocks, --appends and --reads must be positive integers\n');
    process.exitCode = 2;
    return;
  }
  process.stderr.write(`bench:db: generating ${blocks + appendCount} blocks at difficulty 1\n`);
  const all = [...generateChain(blocks + appendCount)];
  const chain = all.slice(0, blocks);
  const appends = all.slice(blocks);
  const rows: Row[] = [];
  for (const [name, opener] of [
    ['lmdb', openLmdb],
    ['classic-level', openLevel],
  ] as const) {
    process.stderr.write(`bench:db: ${name}\n`);
    rows.push(await measure(name, opener as Opener, chain, appends, reads));
  }
  const machine = await describeMachine();
  process.stdout.write(`${machine.cpu}, ${machine.cores} cores, Node ${machine.node}, ${machine.date}, load ${machine.loadAverage}\n`);
  process.stdout.write(`${blocks} blocks in batches of 1000, then ${appendCount} single-block durable transactions, ${reads} random reads\n\n`);
  const fmt = (v: string | number | undefined): string =>
    typeof v === 'number' ? (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1)) : (v ?? '');
  const metrics: [string, string][] = [
    ['batchPerSec', 'batch of 1000, blocks/s'],
    ['appendPerSec', 'one block per transaction, blocks/s'],
    ['readHeightPerSec', 'random read by height, blocks/s'],
    ['readHashPerSec', 'random read by hash, blocks/s'],
    ['scanPerSec', 'full ordered scan, blocks/s'],
    ['openMs', 'open + read tip, ms'],
    ['diskMiB', 'disk size, MiB'],
  ];
  process.stdout.write(`| workload | ${rows.map((r) => r.db).join(' | ')} |\n|---|${rows.map(() => '---').join('|')}|\n`);
  for (const [key, label] of metrics) process.stdout.write(`| ${label} | ${rows.map((r) => fmt(r[key])).join(' | ')} |\n`);
  for (const row of rows) if (row.note) process.stdout.write(`\n${row.db}: ${row.note}\n`);
}

await main();
