// A child process for the store's crash and lock tests; runs the compiled store from dist/.
// Progress goes to stdout one line at a time, so the parent can kill it at chosen moments.
//   hold DIR D              open the store, print "open", wait to be killed
//   commit DIR grow|reorg [RUN_ENTRIES]
//                           open the store the parent prepared (with that hashRunEntries) and make
//                           one large commit, printing "start" before it and "done" once it resolved
import { generateChain } from '../../../dist/bench/chain-gen.js';
import { openChainDb } from '../../../dist/src/store/index.js';

export const BASE = 1000;
export const GROW = 20000;
export const FORK_AT = 16000;
export const FORK = 5001;

/** The chains the parent and the child both build: deterministic, valid at difficulty 1. */
export function chains() {
  const base = [...generateChain(BASE, { tag: 'base' })];
  const grow = [...generateChain(GROW, { after: base.at(-1), tag: 'grow' })];
  const fork = [...generateChain(FORK, { after: grow[FORK_AT - BASE - 1], tag: 'fork' })];
  return { base, grow, fork };
}

async function main([mode, dir, arg, runEntries]) {
  if (mode === 'hold') {
    await openChainDb({ dir, difficulty: Number(arg) });
    process.stdout.write('open\n');
    setInterval(() => {}, 1 << 30);
    return;
  }
  const { grow, fork } = chains();
  const db = await openChainDb({ dir, difficulty: 1, ...(runEntries === undefined ? {} : { hashRunEntries: Number(runEntries) }) });
  process.stdout.write('start\n');
  await (arg === 'grow' ? db.commit(BigInt(BASE), grow) : db.commit(BigInt(FORK_AT), fork));
  process.stdout.write('done\n');
  setInterval(() => {}, 1 << 30);
}

if (process.argv[1] === new URL(import.meta.url).pathname) await main(process.argv.slice(2));
