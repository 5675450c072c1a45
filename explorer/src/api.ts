/** The node's HTTP API as the page uses it: the shapes it reads, and fetch with errors as values. */

/** A block in output form: every value a string. */
export interface BlockJson {
  readonly index: string;
  readonly timestamp: string;
  readonly data: string;
  readonly prev_hash: string;
  readonly nonce: string;
  readonly hash: string;
}

export interface MiningStatus {
  readonly enabled: boolean;
  readonly workers: number;
  readonly hashrate: number;
  readonly perWorker: readonly number[];
  readonly engine: string | null;
  readonly simd: boolean | null;
}

export interface SyncStatus {
  readonly peer: string;
  readonly height: number;
  readonly target: number;
  readonly downloaded: number;
  readonly blocksPerSecond: number;
}

export interface Status {
  readonly height: number;
  readonly tip: { readonly index: string; readonly hash: string } | null;
  readonly difficulty: number;
  readonly mining: MiningStatus;
  readonly syncing: boolean;
  readonly sync: SyncStatus | null;
  readonly version: string;
  readonly url: string;
}

export interface PeerState {
  readonly url: string;
  readonly source: string;
  readonly reachable: boolean | null;
  readonly lastSeen: number | null;
  readonly height: number | null;
  readonly failures: number;
}

/** Data of the stream's events (see the README's list). */
export interface TipEvent {
  readonly height: string;
  readonly hash: string | null;
  readonly source: string | null;
}
export interface HashrateEvent {
  readonly at: number;
  readonly total: number;
  readonly perWorker: readonly number[];
}
export interface SyncEvent {
  readonly syncing: boolean;
  readonly sync: SyncStatus | null;
}

/** `GET /data/:id`. */
export type EntryView =
  | { readonly id: string; readonly data: string; readonly state: 'pending'; readonly submittedAt: number }
  | {
      readonly id: string;
      readonly data: string;
      readonly state: 'confirmed';
      readonly block: { readonly index: string; readonly hash: string };
      readonly confirmations: number;
    };

/** `GET /hashrate`: the node's samples of the last minutes, oldest first, shaped as `hashrate` events. */
export interface HashrateHistory {
  readonly intervalMs: number;
  readonly windowMs: number;
  readonly samples: readonly HashrateEvent[];
}

export interface Reorg {
  readonly at: number;
  readonly forkPoint: string;
  readonly abandoned: number;
  readonly added: number;
  readonly height: string;
  readonly source: string;
}

/** `GET /stats`. */
export interface ChainStats {
  readonly at: number;
  readonly blockTime: { readonly from: string; readonly to: string; readonly meanSeconds: number } | null;
  readonly lastMinute: { readonly blocks: number; readonly from: string | null; readonly capped: boolean };
  readonly reorgs: { readonly windowMs: number; readonly count: number; readonly recent: readonly Reorg[] };
  readonly chain: ChainFigures;
}

/** The chain rule's figures (`/status`, `/stats`). */
export interface ChainFigures {
  readonly targetBlockTime: number | null;
  readonly target: string;
  readonly targetDifficulty: number;
  readonly work: string;
  readonly networkHashrate: number | null;
  readonly meanBlockTime: number | null;
}

/** `GET /blocks/:index/target`. */
export interface BlockTarget {
  readonly index: string;
  readonly target: string;
  readonly targetDifficulty: number;
  readonly work: string;
}

export type Answer<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly status: number; readonly message: string };

/** GET or POST JSON; a failed request or an error status is an answer, not a throw. */
export async function request<T>(path: string, init: RequestInit = {}): Promise<Answer<T>> {
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers: { accept: 'application/json', ...(init.headers ?? {}) } });
  } catch (err) {
    return { ok: false, status: 0, message: `the node did not answer (${String(err)})` };
  }
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  if (response.ok) return { ok: true, value: body as T };
  const message = (body as { error?: { message?: unknown } } | undefined)?.error?.message;
  return { ok: false, status: response.status, message: typeof message === 'string' ? message : `HTTP ${response.status}` };
}
