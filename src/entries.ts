/**
 * Data entries and how they ride in a block's `data` string. Pure: no I/O.
 *
 * An entry is a UTF-8 text a user submitted; its id is the SHA-256 (hex) of
 * that text, so the same data submitted twice, here or on another node, is
 * one entry. A block this node mines with entries in it carries them in a
 * versioned, documented format that is still one plain string, so jbc nodes
 * store and relay such blocks unchanged:
 *
 *     jbc-ts/entries/1 {"miner":"http://127.0.0.1:5000/","entries":["first text","second text"]}
 *
 * A block whose data is anything else (jbc's free text, or this node's
 * "jbc-ts block #N mined by …" when the pool was empty) holds no entries.
 */
import { formatUint } from './codec.js';
import { ErrorCode, JbcError } from './errors.js';
import { sha256Hex } from './hash.js';

export interface Entry {
  /** SHA-256 (hex) of the data's UTF-8 bytes. */
  readonly id: string;
  readonly data: string;
}

/** What marks (and versions) a block's data as holding entries. */
export const ENTRIES_PREFIX = 'jbc-ts/entries/1 ';

export interface EntryLimits {
  /** Largest entry, in UTF-8 bytes. */
  readonly maxEntryBytes: number;
  /** Largest `data` string of a block this node mines, in UTF-8 bytes. */
  readonly maxBlockDataBytes: number;
}

export const defaultEntryLimits: EntryLimits = Object.freeze({
  maxEntryBytes: 16 * 1024,
  maxBlockDataBytes: 64 * 1024,
});

const ENTRY_ID = /^[0-9a-f]{64}$/;

export function isEntryId(text: string): boolean {
  return ENTRY_ID.test(text);
}

/**
 * Checks submitted data: a non-empty string of well-formed Unicode (a lone
 * UTF-16 surrogate would make two different strings hash alike) within the
 * size limit. Returns the entry; throws BAD_REQUEST or PAYLOAD_TOO_LARGE.
 */
export function toEntry(data: unknown, limits: EntryLimits = defaultEntryLimits): Entry {
  if (typeof data !== 'string') throw new JbcError(ErrorCode.BAD_REQUEST, 'expected {"data": "<text>"}: data must be a string', { field: 'data' });
  if (data === '') throw new JbcError(ErrorCode.BAD_REQUEST, 'data must not be empty', { field: 'data' });
  if (LONE_SURROGATE.test(data)) throw new JbcError(ErrorCode.BAD_REQUEST, 'data is not well-formed Unicode (lone surrogate)', { field: 'data' });
  const bytes = Buffer.byteLength(data, 'utf8');
  if (bytes > limits.maxEntryBytes) {
    throw new JbcError(ErrorCode.PAYLOAD_TOO_LARGE, `data is ${bytes} bytes; an entry holds at most ${limits.maxEntryBytes}`, {
      field: 'data',
      maxBytes: limits.maxEntryBytes,
    });
  }
  return { id: sha256Hex(data), data };
}

/** With the `u` flag a surrogate pair is one code point, so this matches only unpaired halves. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** The data of a block mined by `miner`: the entries in the format above, or the plain line when there are none. */
export function packBlockData(index: bigint, miner: string, entries: readonly Entry[]): string {
  if (entries.length === 0) return `jbc-ts block #${formatUint(index)} mined by ${miner}`;
  return ENTRIES_PREFIX + JSON.stringify({ miner, entries: entries.map((entry) => entry.data) });
}

/**
 * The entries a block's data holds, in order, each once; none for data in
 * any other form (a block is never refused for its data: it stays opaque).
 */
export function unpackBlockData(data: string): Entry[] {
  if (!data.startsWith(ENTRIES_PREFIX)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.slice(ENTRIES_PREFIX.length));
  } catch {
    return [];
  }
  const list = (parsed as { entries?: unknown } | null)?.entries;
  if (!Array.isArray(list)) return [];
  const seen = new Set<string>();
  const entries: Entry[] = [];
  for (const item of list) {
    if (typeof item !== 'string' || item === '' || LONE_SURROGATE.test(item)) continue;
    const id = sha256Hex(item);
    if (seen.has(id)) continue;
    seen.add(id);
    entries.push({ id, data: item });
  }
  return entries;
}

/** The packed bytes of the smallest entry after another: a comma and a one-character JSON string. */
const SMALLEST_ENTRY = ',"x"'.length;

/**
 * The entries, oldest first, that fit a block's data within the limit. One
 * that does not fit in what is left is skipped, not waited for: stopping at
 * it would let a single entry too large for any block (one that came back
 * in a peer's block, or from a node with other limits) keep every later one
 * out of every block. The oldest entry still goes in first whenever it fits.
 */
export function entriesForBlock(pending: Iterable<Entry>, miner: string, limits: EntryLimits = defaultEntryLimits): Entry[] {
  const chosen: Entry[] = [];
  // The packed size, grown one entry at a time: prefix, {"miner":…,"entries":[ … ]}.
  let size = Buffer.byteLength(ENTRIES_PREFIX + JSON.stringify({ miner, entries: [] }), 'utf8');
  for (const entry of pending) {
    const added = Buffer.byteLength(JSON.stringify(entry.data), 'utf8') + (chosen.length > 0 ? 1 : 0);
    if (size + added > limits.maxBlockDataBytes) {
      // Past this point not even a one-character entry fits: stop reading the pool.
      if (size + SMALLEST_ENTRY > limits.maxBlockDataBytes) break;
      continue;
    }
    size += added;
    chosen.push(entry);
  }
  return chosen;
}
