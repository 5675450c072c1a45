#!/usr/bin/env node
/**
 * `npm start -- [options]`: options → config → start. Nothing else lives
 * here; parsing is in node/args.ts, the node in node/.
 */
import { availableParallelism } from 'node:os';
import { describeError, isJbcError, ErrorCode } from './errors.js';
import { createLogger, type Logger } from './log.js';
import { createNode, parseCommandLine, type CommandLine, type JbcNode } from './node/index.js';

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

  const logger = createLogger({ level: commandLine.log.level, pretty: commandLine.log.pretty });
  let node: JbcNode;
  try {
    node = createNode(commandLine.options, { logger });
  } catch (err) {
    return failedToStart(logger, err);
  }

  // Signals are handled from the first moment, so Ctrl-C during the startup
  // sync stops the node cleanly too.
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      process.exit(130); // a second Ctrl-C does not wait
    }
    stopping = true;
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
  logger.error({ code: isJbcError(err) ? err.code : undefined, err }, 'node failed to start');
  process.stderr.write(`jbc-ts: ${err instanceof Error ? err.message : describeError(err)}\n`);
  process.exitCode = isJbcError(err, ErrorCode.BAD_OPTION) ? 2 : 1;
}

await main();
