/**
 * A block's `data` as this node's family writes it: the data entries it
 * carries and the miner it names. jbc-ts packs entries as
 * `jbc-ts/entries/1 {"miner":"<url>","entries":["text",…]}` and, with none,
 * writes `jbc-ts block #N mined by <url>`; any other data (jbc's free text)
 * is plain text that names no miner. Read with the node's own rules
 * (src/entries.ts): items that are not non-empty well-formed strings are
 * skipped, and an entry that comes twice counts once.
 */
import { sha256Hex } from './sha256.js';

export const ENTRIES_PREFIX = 'jbc-ts/entries/1 ';

export interface Entry {
  /** SHA-256 (hex) of the text: the id `GET /data/:id` knows it by. */
  readonly id: string;
  readonly data: string;
}

export interface BlockData {
  /** `entries` when the data is in the packed format, `plain` for any other text. */
  readonly format: 'entries' | 'plain';
  readonly entries: readonly Entry[];
  /** The miner's URL as the data gives it, or null when it names none. */
  readonly miner: string | null;
}

const PLAIN_MINED = /^jbc-ts block #\d+ mined by (\S+)$/;
const LONE_SURROGATE = /\p{Surrogate}/u;

export function decodeBlockData(data: string): BlockData {
  if (data.startsWith(ENTRIES_PREFIX)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data.slice(ENTRIES_PREFIX.length));
    } catch {
      parsed = undefined;
    }
    const packed = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as { miner?: unknown; entries?: unknown };
    if (Array.isArray(packed.entries)) {
      const seen = new Set<string>();
      const entries: Entry[] = [];
      for (const item of packed.entries) {
        if (typeof item !== 'string' || item === '' || LONE_SURROGATE.test(item)) continue;
        const id = sha256Hex(item);
        if (seen.has(id)) continue;
        seen.add(id);
        entries.push({ id, data: item });
      }
      return { format: 'entries', entries, miner: typeof packed.miner === 'string' && packed.miner !== '' ? packed.miner : null };
    }
  }
  return { format: 'plain', entries: [], miner: PLAIN_MINED.exec(data)?.[1] ?? null };
}

/** A miner URL shortened for a table cell: its host and port, or the text itself when it is no URL. */
export function minerLabel(miner: string): string {
  try {
    return new URL(miner).host || miner;
  } catch {
    return miner;
  }
}
