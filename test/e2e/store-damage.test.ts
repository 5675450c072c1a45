/**
 * A data directory whose block log was changed while the node was down (a
 * flipped byte, an edit): the node finds the damaged block, never serves
 * it or mines on it, cuts its chain back below it, and gets the rest back
 * from a peer that has it.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyChain } from '../../src/chain.js';
import { CUT_BACK_MESSAGE, openChainDb } from '../../src/store/index.js';
import { blocksOf, hashesOf, mineChain } from '../helpers/fixtures.js';
import { closeAll, http, nodeWith, recordingLogger, startTestNode, trackedTempDir, waitFor } from './helpers/nodes.js';

const D = 1;

afterEach(closeAll);

/** A data dir holding `length` blocks, block `damaged` with one letter of its data changed in blocks.log. */
async function damagedDataDir(length: number, damaged: number) {
  const blocks = mineChain(length, D, { tag: 'kept' });
  const dir = await trackedTempDir();
  const db = await openChainDb({ dir, difficulty: D });
  await db.commit(0n, blocks);
  await db.close();
  const log = join(dir, 'blocks.log');
  const lines = (await readFile(log, 'utf8')).split('\n');
  const line = lines[damaged]!;
  const at = line.indexOf('"data":"') + 8;
  lines[damaged] = line.slice(0, at) + (line[at] === 'Q' ? 'R' : 'Q') + line.slice(at + 1);
  await writeFile(log, lines.join('\n'));
  return { blocks, dir };
}

describe('a block changed in the log while the node was down', () => {
  it('is found and cut away, and the node syncs the chain back from its peer', async () => {
    // Deeper than the newest blocks checked when the store opens: the check of the whole chain that follows finds it.
    const { blocks, dir } = await damagedDataDir(400, 5);
    const peer = await nodeWith(blocks, { difficulty: D });
    const { logger, lines } = recordingLogger();
    const node = await startTestNode({ dataDir: dir, difficulty: D, peers: [peer.url], jbcFiles: false }, { logger });

    await waitFor('the chain back from the peer', () => node.chain().length === 400 && lines.some((l) => l.msg === 'stored chain checked'));
    expect(hashesOf(node.chain())).toEqual(hashesOf(blocks));
    expect(node.chain().at(5n)).toEqual(blocks[5]);
    const damage = lines.find((l) => l.msg === 'a stored block is damaged');
    expect(damage).toMatchObject({ level: 'error', fields: { height: 5, code: 'STORE_CORRUPT', reason: 'its hash does not match its contents' } });
    expect(lines.find((l) => l.msg === CUT_BACK_MESSAGE)?.fields).toMatchObject({ kept: 5, abandoned: 395 });
    // Served as the peer has it, from what the node stored again.
    expect((await http(`${node.url}blocks/5`)).json.hash).toBe(blocks[5]!.hash);
    verifyChain(blocksOf(node.chain()), D);
  });

  it('is never mined on: alone, the node mines on from the block below it', async () => {
    const { blocks, dir } = await damagedDataDir(300, 5);
    const { logger, lines } = recordingLogger();
    const node = await startTestNode({ dataDir: dir, difficulty: D, mine: true, jbcFiles: false }, { logger });

    await waitFor('blocks mined', () => node.chain().length >= 8);
    const mined = lines.filter((l) => l.msg.startsWith('mined block #')).map((l) => l.fields.index);
    expect(mined[0]).toBe(5);
    expect(lines.findIndex((l) => l.msg === 'a stored block is damaged')).toBeLessThan(lines.findIndex((l) => l.msg.startsWith('mined block #')));
    const chain = blocksOf(node.chain());
    verifyChain(chain, D);
    expect(hashesOf(chain.slice(0, 5))).toEqual(hashesOf(blocks.slice(0, 5)));
    expect(chain[5]!.hash).not.toBe(blocks[5]!.hash);
  });
});
