/**
 * Writes a chain as a jbc directory: one `000042.json` file per block in
 * output form, exactly what the Python jbc node loads.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Block } from '../block.js';
import { ErrorCode, JbcError } from '../errors.js';
import type { Logger } from '../log.js';
import { openChainDb } from './chain-db.js';
import { DB_FILE } from './database.js';
import type { ChainStore } from './interface.js';
import { io, listBlockFiles } from './jbc-files.js';
import { JbcMirror } from './jbc-mirror.js';

const BATCH = 1000;

/**
 * Exports `source` (an open store, or a data directory, which is then opened
 * and so locked for the duration) into `outDir`, which must not hold block
 * files yet. Returns the number of blocks written.
 */
export async function exportJbcDir(source: ChainStore | string, outDir: string, modules: { logger?: Logger } = {}): Promise<number> {
  if (typeof source === 'string' && !existsSync(join(source, DB_FILE))) {
    throw new JbcError(ErrorCode.BAD_OPTION, `${source} holds no chain database`, { dir: source });
  }
  await io(`create ${outDir}`, () => mkdir(outDir, { recursive: true }));
  if ((await listBlockFiles(outDir)).length > 0) {
    throw new JbcError(ErrorCode.BAD_OPTION, `${outDir} already holds block files; export into a new or empty directory`, { dir: outDir });
  }
  const store = typeof source === 'string' ? await openChainDb({ dir: source }, modules) : source;
  try {
    const mirror = new JbcMirror(outDir);
    let batch: Block[] = [];
    let written = 0;
    for (const block of store.iterate()) {
      batch.push(block);
      if (batch.length === BATCH) {
        written += batch.length;
        await mirror.apply(batch, written, written);
        batch = [];
      }
    }
    written += batch.length;
    await mirror.apply(batch, written, written);
    return written;
  } finally {
    if (store !== source) await store.close();
  }
}
