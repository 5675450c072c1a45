#!/usr/bin/env node
/**
 * `npm start -- [options]`: options → config → start. Nothing else lives
 * here; parsing is in node/args.ts, the node in node/.
 */
import { availableParallelism } from 'node:os';
import { describeError, isJbcError, ErrorCode } from './errors.js';
import { createLogger } from './log.js';
import { parseCommandLine, startNode, type CommandLine, type NodeHandle } from './node/index.js';
import { packageVersion } from './paths.js';

async function main(): Promise<void> {
  let commandLine: CommandLine;
  try {
    commandLine = parseCommandLine(process.argv.slice(2), { cpus: availableParallelism(), cwd: process.cwd() });
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

  const logger = createLogger({ level: commandLine.log.level, pretty: commandLine.log.pretty });

  // Handlers go in before the node starts: a process manager may stop the
  // node while it is still syncing, and the default action would skip the
  // clean shutdown.
  let node: NodeHandle | undefined;
  let stoppingSince: number | undefined;
  const close = (handle: NodeHandle): void => {
    handle.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: describeError(err) }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
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
    if (node !== undefined) close(node);
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  try {
    node = await startNode(commandLine.options, { logger });
  } catch (err) {
    logger.error({ code: isJbcError(err) ? err.code : undefined, err: describeError(err) }, 'node failed to start');
    process.stderr.write(`jbc-ts: ${err instanceof Error ? err.message : describeError(err)}\n`);
    process.exitCode = isJbcError(err, ErrorCode.BAD_OPTION) ? 2 : 1;
    return;
  }
  if (stoppingSince !== undefined) close(node);
}

/** A repeat of a stop signal sooner than this is the same request delivered twice. */
const REPEAT_SIGNAL_MS = 500;

await main();
