/**
 * Mining threads yield the CPU to the node's main thread. A node that mines
 * with as many workers as cores (the default), or several nodes on one
 * machine, would otherwise leave its main thread waiting for a time slice
 * behind the hashing threads: a block from a peer would be decided, relayed
 * and mined on tens of milliseconds late, and the network would fork more.
 * With the workers niced, the main thread runs as soon as it has work, and
 * the workers still get every cycle it leaves; on an idle machine the hash
 * rate is the same.
 *
 * On Linux the nice value is a thread's own, so setting it for "this
 * process" (id 0) from a worker thread lowers that thread alone. Elsewhere
 * it would lower the whole process, so nothing is done.
 */
import { getPriority, setPriority } from 'node:os';

/** The worker threads' nice value: below every normal process, above idle-only ones. */
export const WORKER_NICE = 10;

/** Lowers the calling worker thread's priority to WORKER_NICE (Linux), never raises it; returns whether it changed. */
export function lowerWorkerPriority(): boolean {
  if (process.platform !== 'linux' || getPriority(0) >= WORKER_NICE) return false;
  setPriority(0, WORKER_NICE);
  return true;
}
