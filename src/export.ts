#!/usr/bin/env node
/**
 * `npm run export -- --data-dir chaindata/5001 --out DIR`: writes the chain
 * of a data directory as a jbc directory (one `000042.json` per block). It
 * takes the data directory's lock like a node does, so it refuses (exit 2)
 * while a node runs on that directory.
 */
import { readCommandLine } from './command-line.js';
import { describeError, ErrorCode, isJbcError } from './errors.js';
import { createLogger } from './log.js';
import { exportJbcDir } from './store/index.js';

const usage = `Usage: npm run export -- --data-dir DIR --out DIR

Writes the chain stored in --data-dir as jbc block files (000000.json, ...)
into --out, which must be new or hold no block files. Refuses while a node
runs on --data-dir.
`;

async function main(argv: readonly string[]): Promise<number> {
  let values: { 'data-dir'?: string; out?: string; help?: boolean };
  try {
    ({ values } = readCommandLine({
      args: [...argv],
      options: { 'data-dir': { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    return fail((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(usage);
    return 0;
  }
  if (!values['data-dir']) return fail('--data-dir is required');
  if (!values.out) return fail('--out is required');
  const logger = createLogger({ level: 'warn', pretty: true, destination: process.stderr });
  try {
    const blocks = await exportJbcDir(values['data-dir'], values.out, { logger });
    process.stdout.write(`exported ${blocks} blocks from ${values['data-dir']} to ${values.out}\n`);
    return 0;
  } catch (err) {
    const expected = isJbcError(err, ErrorCode.BAD_OPTION) || isJbcError(err, ErrorCode.DATA_DIR_LOCKED) || isJbcError(err, ErrorCode.DIFFICULTY_MISMATCH);
    return fail(err instanceof Error ? err.message : describeError(err), expected ? 2 : 1);
  }
}

function fail(message: string, status = 2): number {
  process.stderr.write(`jbc-ts export: ${message}\n`);
  return status;
}

process.exitCode = await main(process.argv.slice(2));
