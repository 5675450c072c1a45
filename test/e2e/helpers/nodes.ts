/**
 * Real nodes for integration tests: port 0, a temp data dir, low difficulty,
 * no default peers, and a registry that `closeAll()` (in afterEach) empties.
 * Set JBC_TEST_LOG=debug to see the nodes' logs.
 */
import { createLogger, silentLogger, type Logger, type LogLevel } from '../../../src/log.js';
import { startNode, type NodeHandle, type NodeModules, type NodeOptions } from '../../../src/node/index.js';
import type { Block } from '../../../src/block.js';
import { removeDir, tempDir, writeDataDir } from './fixtures.js';

const open: Array<{ close(): Promise<void> }> = [];
const dirs: string[] = [];

export function testLogger(name: string): Logger {
  const level = process.env.JBC_TEST_LOG as LogLevel | undefined;
  return level ? createLogger({ level, pretty: true, base: { node: name } }) : silentLogger;
}

/** Starts a node with test defaults; any option may be overridden. */
export async function startTestNode(options: NodeOptions = {}, modules: NodeModules = {}, name = 'node'): Promise<NodeHandle> {
  let dataDir = options.dataDir;
  if (dataDir === undefined) {
    dataDir = await tempDir();
    dirs.push(dataDir);
  }
  const handle = await startNode(
    {
      port: 0,
      host: '127.0.0.1',
      difficulty: 2,
      mine: false,
      workers: 1,
      peers: [],
      peerTimeoutMs: 1500,
      hashrateLogIntervalMs: 0,
      // The article's file layout beside the database, so tests can look at the files as a user would.
      jbcFiles: true,
      ...options,
      dataDir,
    },
    { logger: testLogger(name), ...modules },
  );
  open.push(handle);
  return handle;
}

/** Starts a test node whose data dir holds `blocks` as jbc block files. */
export async function nodeWith(blocks: readonly Block[], options: NodeOptions = {}, modules: NodeModules = {}): Promise<NodeHandle> {
  const dataDir = await trackedTempDir();
  await writeDataDir(dataDir, blocks);
  return startTestNode({ dataDir, ...options }, modules);
}

export interface LogLine {
  readonly level: 'error' | 'warn' | 'info' | 'debug';
  readonly fields: Readonly<Record<string, unknown>>;
  readonly msg: string;
}

/** A logger that keeps every line (all levels, every child), for tests that wait on what a node logs. */
export function recordingLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine['level']) => (fields: Readonly<Record<string, unknown>>, msg: string) => lines.push({ level, fields, msg });
  const logger: Logger = { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug'), child: () => logger };
  return { logger, lines };
}

/** Registers anything with close() (fake peers, servers) for closeAll. */
export function track<T extends { close(): Promise<void> }>(thing: T): T {
  open.push(thing);
  return thing;
}

/** Registers a directory for removal by closeAll. */
export async function trackedTempDir(): Promise<string> {
  const dir = await tempDir();
  dirs.push(dir);
  return dir;
}

export async function closeAll(): Promise<void> {
  const closing = open.splice(0).reverse();
  await Promise.all(closing.map((thing) => thing.close()));
  await Promise.all(dirs.splice(0).map(removeDir));
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** GET/POST against a node, returning status and the parsed JSON (or raw text). */
export async function http(
  url: string,
  init: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const response = await fetch(url, { method: init.method ?? 'GET', body: init.body, headers: init.headers });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text, headers: response.headers };
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}) {
  return http(url, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
    headers: { 'content-type': 'application/json', ...headers },
  });
}
