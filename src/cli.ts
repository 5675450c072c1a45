#!/usr/bin/env node
/**
 * The `jbc-ts` command. `jbc-ts COMMAND …` (status, block 7, …) is the
 * client of a running node (client/); anything else, `npm start --
 * [options]` included, starts a node: options → config → start. Parsing is
 * in node/args.ts, the node in node/, which only a node start loads.
 */
import { availableParallelism } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { isClientInvocation, runClient } from './client/index.js';
import { describeError, isJbcError, ErrorCode } from './errors.js';
import type { Logger } from './log.js';
import type { CommandLine, JbcNode } from './node/index.js';
import { packageVersion } from './paths.js';

/** A repeat of a stop signal sooner than this is the same request delivered twice. */
const REPEAT_SIGNAL_MS = 500;

/**
 * How far V8 lets the heap grow past what the last full collection kept
 * before it runs the next one, in percent. Left to itself V8 lets it grow to
 * up to four times that: a syncing node keeps 20-30 MB alive but allocates
 * fast (download, parse and check each block), so it would sit at over
 * 100 MB. Growing by half keeps memory near what is alive, for more (short,
 * incremental) full collections. V8 reads the setting at every collection,
 * so it takes effect when set here.
 */
const HEAP_GROWING_PERCENT = 50;

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (isClientInvocation(argv)) {
    process.exitCode = await runClient(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env });
    return;
  }
  const { createNode, parseCommandLine } = await import('./node/index.js');
  const { createLogger } = await import('./log.js');
  let commandLine: CommandLine;
  try {
    commandLine = parseCommandLine(argv, { cpus: availableParallelism(), cwd: process.cwd(), environment: process.env });
  } catch (err) {
    process.stderr.write(`jbc-ts: ${err instanceof Error ? err.message : describeError(err)}\n`);
    process.exitCode = 2;
    return;
  }
  if (commandLine.kind === 'help') {
    process.stdout.write(commandLine.text);
    return;
  }
  if (commandLine.kind === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }

  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  const logger = createLogger({ level: commandLine.log.level, pretty: commandLine.log.pretty });
  let node: JbcNode;
  try {
    node = createNode(commandLine.options, { logger });
  } catch (err) {
    return failedToStart(logger, err);
  }

  // Handlers go in before the node starts: Ctrl-C, or a process manager's
  // SIGTERM, during the startup sync stops the node cleanly too.
  let stoppingSince: number | undefined;
  const stop = (signal: string): void => {
    if (stoppingSince !== undefined) {
      // `npm start` passes the terminal's Ctrl-C on to the node, which then
      // sees one press twice within milliseconds; only a later one is a
      // second press, which does not wait (the store stays consistent).
      if (performance.now() - stoppingSince > REPEAT_SIGNAL_MS) process.exit(130);
      return;
    }
    stoppingSince = performance.now();
    logger.info({ signal }, 'shutting down');
    node.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  try {
    await node.start();
  } catch (err) {
    await node.close();
    failedToStart(logger, err);
  }
}

function failedToStart(logger: Logger, err: unknown): void {
  // Exit 2: the command line or the data dir given cannot work as asked (nothing was changed).
  const refused = [ErrorCode.BAD_OPTION, ErrorCode.DATA_DIR_LOCKED, ErrorCode.DIFFICULTY_MISMATCH, ErrorCode.STORE_CORRUPT] as const;
  const known = refused.some((code) => isJbcError(err, code));
  const reason = err instanceof Error ? err.message : describeError(err);
  // A reason the user can act on is one line; a stack only helps with the node's own faults.
  if (known) logger.error({ code: (err as { code: string }).code, reason }, 'node failed to start');
  else logger.error({ code: isJbcError(err) ? err.code : undefined, err }, 'node failed to start');
  process.stderr.write(`jbc-ts: ${reason}\n`);
  process.exitCode = known ? 2 : 1;
}

await main();
