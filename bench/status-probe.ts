/**
 * Asks a node's `GET /status` over and over for a while and returns how long
 * each answer took: what a user of a node under load sees.
 */
import { setTimeout as sleep } from 'node:timers/promises';

/** Latencies in ms of `GET /status` asked every `gapMs` (after each answer) for `seconds`. */
export async function probeStatus(nodeUrl: string, seconds: number, gapMs = 20): Promise<number[]> {
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const started = performance.now();
    await (await fetch(`${nodeUrl}status`)).json();
    latencies.push(performance.now() - started);
    await sleep(gapMs);
  }
  return latencies;
}
