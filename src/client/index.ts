/**
 * The client subsystem's public surface: `jbc-ts COMMAND …` against a
 * running node. Other folders import from here only.
 */
export { isClientInvocation, runClient, type ClientIo } from './cli.js';
export { CLIENT_FLAGS, CLIENT_USAGE, COMMANDS } from './options.js';
export { ExitCode } from './connection.js';
