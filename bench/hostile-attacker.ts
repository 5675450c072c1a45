/**
 * The attackers of `bench:hostile --attack json`, each in a worker thread so
 * that what they spend building, sending and serving their bodies does not
 * land on the event loop of the node they attack (which runs in the bench's
 * main thread). They only talk to 127.0.0.1, are bounded in count, and stop
 * by themselves at their deadline even if nobody tells them to.
 *
 * - `peers`: `count` HTTP servers that answer one path with `bytes` of
 *   `[1,1,…]`, a small status of an empty chain on `/status` otherwise, and
 *   404 on the rest.
 * - `client`: posts `bytes` of `[1,1,…]` to a URL `perSecond` times a
 *   second, at most `maxInFlight` posts at once (a post that finds no room
 *   is counted as skipped, not queued).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';

export type AttackerTask =
  | { readonly kind: 'peers'; readonly count: number; readonly path: '/mined' | '/status'; readonly bytes: number; readonly seconds: number }
  | {
      readonly kind: 'client';
      readonly url: string;
      readonly perSecond: number;
      readonly bytes: number;
      readonly maxInFlight: number;
      readonly seconds: number;
    };

/** What an attacker did: answers served (peers) or posts sent (client), and the client's answers by HTTP status. */
export interface AttackCounts {
  readonly sent: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly skipped: number;
}

export interface Attacker {
  /** The peers' base URLs (none for a client). */
  readonly urls: readonly string[];
  /** Stops the attack and says what it did. */
  stop(): Promise<AttackCounts>;
}

/** A JSON array of 1s no longer than `bytes`: as many numbers as that many bytes can hold. */
export function numbersBody(bytes: number): Buffer {
  const count = Math.max(1, Math.floor((bytes - 1) / 2));
  return Buffer.from(`[${'1,'.repeat(count - 1)}1]`);
}

/** An empty chain's status: the node has nothing to fetch from such a peer. */
const EMPTY_STATUS = '{"height":-1,"length":0,"tip":null,"nodeId":"hostile"}';

export async function startAttacker(task: AttackerTask): Promise<Attacker> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { attackerTask: task } });
  const urls = await new Promise<string[]>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  return {
    urls,
    stop: async () => {
      const counts = await new Promise<AttackCounts>((resolve) => {
        worker.once('message', resolve);
        worker.postMessage('stop');
      });
      await worker.terminate();
      return counts;
    },
  };
}

async function servePeers(task: Extract<AttackerTask, { kind: 'peers' }>): Promise<{ urls: string[]; stop: () => Promise<AttackCounts> }> {
  const body = numbersBody(task.bytes);
  let sent = 0;
  let open = true;
  const servers: Server[] = [];
  for (let i = 0; i < task.count; i++) {
    const server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      // The node may hang up once it has read enough; that is its defence, not an error here.
      res.on('error', () => {});
      if (open && path === task.path) {
        sent++;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
        res.end(body);
      } else if (path === '/status') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(EMPTY_STATUS);
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"NOT_FOUND","message":"not here"}}');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  const stop = async (): Promise<AttackCounts> => {
    open = false;
    for (const server of servers) server.closeAllConnections();
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    return { sent, statuses: {}, skipped: 0 };
  };
  return { urls: servers.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/`), stop };
}

function runClient(task: Extract<AttackerTask, { kind: 'client' }>): { stop: () => Promise<AttackCounts> } {
  const body = numbersBody(task.bytes);
  const statuses: Record<string, number> = {};
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let skipped = 0;
  const post = (): void => {
    if (inFlight.size >= task.maxInFlight) {
      skipped++;
      return;
    }
    sent++;
    const done: Promise<void> = fetch(task.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      .then(async (res) => {
        await res.arrayBuffer();
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
      })
      .catch(() => {
        statuses.error = (statuses.error ?? 0) + 1;
      })
      .finally(() => inFlight.delete(done));
    inFlight.add(done);
  };
  const timer = setInterval(post, 1000 / task.perSecond);
  const stop = async (): Promise<AttackCounts> => {
    clearInterval(timer);
    await Promise.all(inFlight);
    return { sent, statuses, skipped };
  };
  return { stop };
}

if (!isMainThread && (workerData as { attackerTask?: AttackerTask } | null)?.attackerTask !== undefined) {
  const task = (workerData as { attackerTask: AttackerTask }).attackerTask;
  const attack = task.kind === 'peers' ? await servePeers(task) : { urls: [], ...runClient(task) };
  let stopped: Promise<AttackCounts> | undefined;
  const stopOnce = (): Promise<AttackCounts> => (stopped ??= attack.stop());
  // The deadline bounds the attack even if the bench never asks it to stop.
  setTimeout(() => void stopOnce(), task.seconds * 1000).unref();
  parentPort!.on('message', () => void stopOnce().then((counts) => parentPort!.postMessage(counts)));
  parentPort!.postMessage(attack.urls);
}
