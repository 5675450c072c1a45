/**
 * What each client command asks the node, how it checks the answer with
 * the node's own code (the codec, parseBlock and checkBlock, the chain
 * rules, entry ids), and how it shows it. A command returns the checked
 * answer for --json and the lines for a person; it prints nothing itself.
 */
import { readFile, stat } from 'node:fs/promises';
import { blockToJson, checkBlock, isHash, parseBlock, type Block } from '../block.js';
import { verifySegment } from '../chain.js';
import { JsonNumber, formatUint, isCanonicalUint, isJsonObject, parseUint } from '../codec.js';
import { isEntryId, toEntry, unpackBlockData } from '../entries.js';
import { ErrorCode, JbcError } from '../errors.js';
import { formatRate } from '../hashrate.js';
import type { NodeConnection } from './connection.js';

export interface Output {
  /** The answer as --json prints it. */
  readonly json: unknown;
  /** The answer as a person reads it, without the final newline. */
  readonly text: string;
}

export interface CommandInput {
  readonly args: readonly string[];
  readonly options: { readonly from?: number; readonly limit: number; readonly file?: string };
}

/** A difficulty counts hex digits of a SHA-256 hash. */
const MAX_DIFFICULTY = 64;

/** Largest --file read: far above what a node takes as one entry, which the node then says. */
const MAX_FILE_BYTES = 1024 * 1024;

function badAnswer(message: string): JbcError {
  return new JbcError(ErrorCode.PEER_BAD_RESPONSE, message);
}

function usage(message: string): JbcError {
  return new JbcError(ErrorCode.BAD_OPTION, message);
}

function words(input: CommandInput, command: string, count: number, names: string): readonly string[] {
  if (input.args.length !== count) throw usage(`${command} takes ${count === 0 ? 'no arguments' : names}${count > 0 ? `, got ${input.args.length}` : ''}`);
  return input.args;
}

/** A status answer, checked for what the commands rely on. */
interface Status {
  readonly raw: Record<string, unknown>;
  readonly height: bigint | -1n;
  readonly difficulty: number;
}

async function fetchStatus(node: NodeConnection): Promise<Status> {
  const raw = await node.get('status');
  if (!isJsonObject(raw)) throw badAnswer('GET /status: the answer is not an object');
  const difficulty = raw.difficulty instanceof JsonNumber ? Number(raw.difficulty.text) : Number.NaN;
  if (!Number.isInteger(difficulty) || difficulty < 0 || difficulty > MAX_DIFFICULTY) throw badAnswer('GET /status: difficulty is not an integer from 0 to 64');
  const tip = raw.tip;
  let height: bigint | -1n = -1n;
  if (tip !== null) {
    if (!isJsonObject(tip) || typeof tip.hash !== 'string' || !isHash(tip.hash)) throw badAnswer('GET /status: tip is neither null nor {index, hash}');
    height = parseUint(tip.index, 'tip.index');
  }
  return { raw, height, difficulty };
}

export async function status(node: NodeConnection, input: CommandInput): Promise<Output> {
  words(input, 'status', 0, '');
  const { raw, height } = await fetchStatus(node);
  const tip = raw.tip as { hash: string } | null;
  const mining = isJsonObject(raw.mining) ? raw.mining : {};
  const peers = Array.isArray(raw.peers) ? raw.peers : [];
  const num = (value: unknown): number => (value instanceof JsonNumber ? Number(value.text) : 0);
  const miningText =
    mining.enabled === true || num(mining.requested) > 0
      ? `${mining.enabled === true ? 'on' : 'on request'}, ${num(mining.workers)} worker${num(mining.workers) === 1 ? '' : 's'}, ${formatRate(num(mining.hashrate))}${typeof mining.engine === 'string' ? ` (${mining.engine})` : ''}${num(mining.requested) > 0 ? `, ${num(mining.requested)} block(s) requested` : ''}`
      : 'off';
  const rows: Array<[string, string]> = [
    ['node', `${node.base.href}${typeof raw.version === 'string' ? ` (jbc-ts ${printable(raw.version)})` : ''}`],
    ['height', height === -1n ? 'none (empty chain)' : formatUint(height)],
    ['tip', tip === null ? '-' : tip.hash],
    ['difficulty', difficultyText(raw)],
    ['blocks', blockFigures(raw)],
    ['syncing', raw.syncing === true ? 'yes' : 'no'],
    ['peers', peers.length === 0 ? 'none' : peers.map((p) => printable(String(p))).join(' ')],
    ['mining', miningText],
  ];
  return { json: raw, text: table(rows) };
}

export async function block(node: NodeConnection, input: CommandInput): Promise<Output> {
  const [which] = words(input, 'block', 1, 'one index or hash');
  const byHash = isHash(which!);
  if (!byHash && !isCanonicalUint(which!)) throw usage(`block takes an index (0, 1, …) or a 64-hex block hash, got ${JSON.stringify(which!.slice(0, 80))}`);
  const { difficulty } = await fetchStatus(node);
  const found = checkedBlock(await node.get(byHash ? `blocks/hash/${which}` : `blocks/${which}`), difficulty, `block ${which}`);
  if (byHash ? found.hash !== which : found.index !== BigInt(which!))
    throw badAnswer(`asked for block ${which}, the node sent block ${found.index} (${found.hash})`);
  return { json: blockToJson(found), text: describeBlock(found) };
}

export async function blocks(node: NodeConnection, input: CommandInput): Promise<Output> {
  words(input, 'blocks', 0, '');
  const status = await fetchStatus(node);
  const limit = input.options.limit;
  const from = input.options.from !== undefined ? BigInt(input.options.from) : status.height + 1n > BigInt(limit) ? status.height + 1n - BigInt(limit) : 0n;
  const answer = await node.get(`blocks?from=${from}&limit=${limit}`);
  if (!Array.isArray(answer)) throw badAnswer('GET /blocks: the answer is not an array');
  const list = answer.map((item, i) => checkedBlock(item, status.difficulty, `block ${from + BigInt(i)}`));
  if (list.length > limit) throw badAnswer(`GET /blocks: asked for ${limit} blocks, got ${list.length}`);
  if (list.length > 0 && list[0]!.index !== from) throw badAnswer(`GET /blocks: asked from block ${from}, the first is ${list[0]!.index}`);
  try {
    // Each block links to the one before it; the first one's parent was not fetched, so only its index is known.
    const parent = list[0] === undefined || from === 0n ? undefined : { ...list[0], index: from - 1n, hash: list[0].prevHash };
    verifySegment(parent, list, status.difficulty);
  } catch (err) {
    throw new JbcError(ErrorCode.INVALID_CHAIN, `GET /blocks: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err });
  }
  const rows = list.map((b) => [formatUint(b.index), b.hash, when(b.timestamp), entriesText(b)]);
  const text = list.length === 0 ? `no blocks from ${from}` : columns([['index', 'hash', 'time', 'data'], ...rows]);
  return { json: list.map(blockToJson), text };
}

export async function submit(node: NodeConnection, input: CommandInput): Promise<Output> {
  let data: string;
  if (input.options.file !== undefined) {
    words(input, 'submit --file', 0, '');
    data = await readEntryFile(input.options.file);
  } else {
    data = words(input, 'submit', 1, 'one TEXT (quote it), or --file F')[0]!;
  }
  const expected = toEntry(data, { maxEntryBytes: MAX_FILE_BYTES, maxBlockDataBytes: MAX_FILE_BYTES }).id;
  const answer = await node.post('data', { data });
  if (!isJsonObject(answer) || answer.id !== expected)
    throw badAnswer(`POST /data: the node answered id ${JSON.stringify(isJsonObject(answer) ? answer.id : null)}, not the entry's SHA-256 ${expected}`);
  return { json: answer, text: expected };
}

async function readEntryFile(path: string): Promise<string> {
  try {
    const size = (await stat(path)).size;
    if (size > MAX_FILE_BYTES) throw usage(`--file ${path} is ${size} bytes; an entry is at most a few KiB`);
    return await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof JbcError) throw err;
    const code = (err as { code?: unknown }).code;
    throw usage(`--file ${path}: cannot read it (${typeof code === 'string' ? code : String(err)})`);
  }
}

export async function data(node: NodeConnection, input: CommandInput): Promise<Output> {
  const [id] = words(input, 'data', 1, 'one entry id');
  if (!isEntryId(id!)) throw usage(`data takes an entry id (64 lowercase hex: what submit printed), got ${JSON.stringify(id!.slice(0, 80))}`);
  const answer = await node.get(`data/${id}`);
  const entry = checkedEntry(answer, `GET /data/${id}`);
  if (entry.id !== id) throw badAnswer(`asked for entry ${id}, the node sent ${entry.id}`);
  let state: string;
  if (entry.state === 'confirmed') {
    const where = (answer as { block?: unknown }).block;
    if (!isJsonObject(where) || typeof where.hash !== 'string' || !isHash(where.hash) || typeof where.index !== 'string' || !isCanonicalUint(where.index)) {
      throw badAnswer(`GET /data/${id}: a confirmed entry without its block`);
    }
    const confirmations = (answer as { confirmations?: unknown }).confirmations;
    state = `confirmed in block ${where.index} (${where.hash}), ${confirmations instanceof JsonNumber ? confirmations.text : '?'} confirmation(s)`;
  } else if (entry.state === 'pending') {
    state = 'pending';
  } else {
    throw badAnswer(`GET /data/${id}: unknown state ${JSON.stringify(entry.state)}`);
  }
  return {
    json: answer,
    text: table([
      ['id', entry.id],
      ['state', state],
      ['data', printable(entry.data)],
    ]),
  };
}

export async function pending(node: NodeConnection, input: CommandInput): Promise<Output> {
  words(input, 'pending', 0, '');
  const answer = await node.get(`data?state=pending&limit=${input.options.limit}`);
  if (!isJsonObject(answer) || !Array.isArray(answer.entries) || !isJsonObject(answer.pool)) throw badAnswer('GET /data: the answer is not {entries, pool}');
  const entries = answer.entries.map((item) => checkedEntry(item, 'GET /data'));
  const pool = answer.pool;
  const count = pool.entries instanceof JsonNumber ? pool.entries.text : '?';
  const bytes = pool.bytes instanceof JsonNumber ? pool.bytes.text : '?';
  const head = `${count} pending entr${count === '1' ? 'y' : 'ies'} (${bytes} bytes)${entries.length < Number(count) ? `, the oldest ${entries.length}:` : ''}`;
  return { json: answer, text: [head, ...entries.map((e) => `${e.id}  ${printable(clip(e.data, 60))}`)].join('\n') };
}

export async function peers(node: NodeConnection, input: CommandInput): Promise<Output> {
  const [action, url] = input.args;
  if (action === 'add' || action === 'remove') {
    words(input, `peers ${action}`, 2, 'one URL');
    const answer = action === 'add' ? await node.post('peers', { url }) : await node.request('DELETE', `peers?url=${encodeURIComponent(url!)}`);
    if (!isJsonObject(answer)) throw badAnswer(`${action === 'add' ? 'POST' : 'DELETE'} /peers: the answer is not an object`);
    const text =
      action === 'remove'
        ? `removed ${url}`
        : answer.added === true
          ? `added ${url}`
          : `not added yet: ${printable(String(answer.reason ?? 'no reason given'))}`;
    return { json: answer, text };
  }
  if (action !== undefined) throw usage(`peers takes nothing, add URL or remove URL, got ${JSON.stringify(action.slice(0, 80))}`);
  const answer = await node.get('peers?verbose=1');
  if (!isJsonObject(answer) || !Array.isArray(answer.peers)) throw badAnswer('GET /peers: the answer is not {peers}');
  const rows = answer.peers.map((peer) => {
    if (!isJsonObject(peer) || typeof peer.url !== 'string') throw badAnswer('GET /peers: a peer without its url');
    const n = (value: unknown): string => (value instanceof JsonNumber ? value.text : '-');
    const seen = peer.lastSeen instanceof JsonNumber ? new Date(Number(peer.lastSeen.text)).toISOString().slice(0, 19).replace('T', ' ') : 'never';
    const reachable = peer.reachable === true ? 'yes' : peer.reachable === false ? 'no' : '?';
    return [printable(peer.url), printable(String(peer.source ?? '')), reachable, n(peer.height), seen, n(peer.failures)];
  });
  const text = rows.length === 0 ? 'no peers' : columns([['url', 'source', 'reachable', 'height', 'last seen (UTC)', 'failures'], ...rows]);
  return { json: answer, text };
}

export async function mine(node: NodeConnection, input: CommandInput): Promise<Output> {
  const [count] = words(input, 'mine', 1, 'one number of blocks');
  if (!/^[1-9][0-9]{0,5}$/.test(count!)) throw usage(`mine takes a number of blocks from 1, got ${JSON.stringify(count!.slice(0, 80))}`);
  const { difficulty } = await fetchStatus(node);
  const answer = await node.post('mine', { blocks: Number(count) });
  if (!isJsonObject(answer) || !Array.isArray(answer.blocks)) throw badAnswer('POST /mine: the answer is not {blocks}');
  const list = answer.blocks.map((item, i) => checkedBlock(item, difficulty, `mined block ${i + 1}`));
  if (list.length !== Number(count)) throw badAnswer(`POST /mine: asked for ${count} blocks, got ${list.length}`);
  return { json: list.map(blockToJson), text: list.map((b) => `${formatUint(b.index)}  ${b.hash}`).join('\n') };
}

export const RUN: Readonly<Record<string, (node: NodeConnection, input: CommandInput) => Promise<Output>>> = {
  status,
  block,
  blocks,
  submit,
  data,
  pending,
  peers,
  mine,
};

/** The difficulty, and under a target block time the rule and the next block's difficulty. */
function difficultyText(raw: Record<string, unknown>): string {
  const floor = (raw.difficulty as JsonNumber).text;
  const target = raw.targetBlockTime instanceof JsonNumber ? raw.targetBlockTime.text : undefined;
  const next = raw.targetDifficulty instanceof JsonNumber ? raw.targetDifficulty.text : undefined;
  if (target === undefined) return floor;
  return `${next ?? floor} (target block time ${target} s, at least ${floor})`;
}

/** The chain's pace over its last blocks, when the node reports it. */
function blockFigures(raw: Record<string, unknown>): string {
  const mean = raw.meanBlockTime instanceof JsonNumber ? `one every ${raw.meanBlockTime.text} s` : 'pace not known yet';
  const network = raw.networkHashrate instanceof JsonNumber ? `, network ${formatRate(Number(raw.networkHashrate.text))}` : '';
  return `${mean}${network}`;
}

/** A block as the node sent it, parsed and checked as the node checks a peer's (INVALID_BLOCK, MALFORMED_*). */
function checkedBlock(value: unknown, difficulty: number, what: string): Block {
  let parsed: Block;
  try {
    parsed = parseBlock(value);
    checkBlock(parsed, difficulty);
  } catch (err) {
    if (err instanceof JbcError) throw new JbcError(err.code, `${what}: ${err.message}`, err.data, { cause: err });
    throw err;
  }
  return parsed;
}

/** An entry whose id is the SHA-256 of its data, as the node promises. */
function checkedEntry(value: unknown, what: string): { id: string; data: string; state: unknown } {
  if (!isJsonObject(value) || typeof value.id !== 'string' || typeof value.data !== 'string') throw badAnswer(`${what}: an entry without id and data`);
  if (toEntry(value.data, { maxEntryBytes: Number.MAX_SAFE_INTEGER, maxBlockDataBytes: Number.MAX_SAFE_INTEGER }).id !== value.id) {
    throw badAnswer(`${what}: entry ${value.id} is not the SHA-256 of its data`);
  }
  return { id: value.id, data: value.data, state: value.state };
}

function describeBlock(b: Block): string {
  const entries = unpackBlockData(b.data);
  const rows: Array<[string, string]> = [
    ['index', formatUint(b.index)],
    ['hash', b.hash],
    ['prev_hash', b.prevHash === '' ? '(none: the first block)' : b.prevHash],
    ['timestamp', `${formatUint(b.timestamp)}${when(b.timestamp) === formatUint(b.timestamp) ? '' : ` (${when(b.timestamp)})`}`],
    ['nonce', formatUint(b.nonce)],
    ['data', printable(b.data)],
  ];
  if (entries.length > 0) rows.push(['entries', `${entries.length}`]);
  return [table(rows), ...entries.map((e) => `  ${e.id}  ${printable(clip(e.data, 60))}`)].join('\n');
}

/** Unix seconds as a UTC date; any other integer style (jbc's 20-digit ones) as it is. */
function when(timestamp: bigint): string {
  if (timestamp > 100_000_000_000n) return formatUint(timestamp);
  return new Date(Number(timestamp) * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

function entriesText(b: Block): string {
  const entries = unpackBlockData(b.data);
  return entries.length > 0 ? `${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}` : printable(clip(b.data, 40));
}

/**
 * Text from anyone (block data, entries) as it is safe to print on a
 * terminal: control characters, which could move the cursor or recolour
 * the screen, shown as escapes.
 */
export function printable(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function table(rows: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...rows.map(([key]) => key.length));
  return rows.map(([key, value]) => `${key.padEnd(width)}  ${value}`).join('\n');
}

function columns(rows: ReadonlyArray<readonly string[]>): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
