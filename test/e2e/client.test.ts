/**
 * The `jbc-ts` client as a user runs it (`node dist/src/cli.js COMMAND …`,
 * and once through the bin) against real nodes, and against servers that
 * answer wrongly, to check its output, its checks and its exit codes.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { blockToJson, checkBlock, parseBlock } from '../../src/block.js';
import { distPath, packageRoot } from '../../src/paths.js';
import { mineBlock } from '../helpers/fixtures.js';
import { closeAll, startTestNode, track, trackedTempDir } from './helpers/nodes.js';

const cli = distPath('src', 'cli.js');

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the client without blocking this process, whose nodes must go on answering. */
function client(args: readonly string[], env: Record<string, string> = {}, command: readonly string[] = [cli]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...command, ...args], { cwd: packageRoot(), env: { PATH: process.env.PATH ?? '', ...env } }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** A server that answers every request with `answer(path)`: status, content type, body. */
async function fakeNode(answer: (path: string) => { status?: number; type?: string; body: string } | undefined): Promise<string> {
  const server: Server = createServer((req, res) => {
    const reply = answer(req.url ?? '/');
    if (reply === undefined) return; // never answers
    res.writeHead(reply.status ?? 200, { 'content-type': reply.type ?? 'application/json' });
    res.end(reply.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  track({
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

afterEach(closeAll);

describe('jbc-ts client against a node', () => {
  it('status, mine, blocks and block: text for people, checked JSON for scripts', async () => {
    const node = await startTestNode();
    const at = ['--node', node.url];

    const empty = await client(['status', ...at]);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/^height\s+none \(empty chain\)$/m);
    expect(empty.stdout).toMatch(/^mining\s+off$/m);
    expect(empty.stdout).toMatch(/^blocks\s+pace not known yet$/m);

    const mined = await client(['mine', '3', ...at]);
    expect(mined.code).toBe(0);
    const lines = mined.stdout.trim().split('\n');
    expect(lines.map((line) => line.split(/\s+/)[0])).toEqual(['0', '1', '2']);
    expect(lines[2]!.split(/\s+/)[1]).toBe(node.chain().tip!.hash);

    expect((await client(['status', ...at])).stdout).toMatch(/^blocks\s+one every [0-9.]+ s/m);
    const status = await client(['--json', 'status', ...at]);
    const json = JSON.parse(status.stdout);
    expect(json).toMatchObject({ height: 2, tip: { index: '2', hash: node.chain().tip!.hash }, difficulty: node.config.difficulty });

    const range = await client(['blocks', '--from', '1', '--limit', '2', '--json', ...at]);
    expect(range.code).toBe(0);
    const blocks = JSON.parse(range.stdout).map(parseBlock);
    expect(blocks.map((b: { index: bigint }) => b.index)).toEqual([1n, 2n]);
    for (const block of blocks) checkBlock(block, node.config.difficulty);
    // By default the last blocks, oldest first.
    const last = await client(['blocks', '--limit', '2', ...at]);
    expect(
      last.stdout
        .trim()
        .split('\n')
        .slice(1)
        .map((line) => line.split(/\s+/)[0]),
    ).toEqual(['1', '2']);

    const one = await client(['block', '1', ...at]);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(new RegExp(`^hash\\s+${node.chain().at(1n)!.hash}$`, 'm'));
    expect(one.stdout).toMatch(new RegExp(`^prev_hash\\s+${node.chain().at(0n)!.hash}$`, 'm'));
    const byHash = await client(['block', node.chain().at(1n)!.hash, '--json', ...at]);
    expect(JSON.parse(byHash.stdout)).toEqual(blockToJson(node.chain().at(1n)!));
  });

  it('submit, pending and data follow an entry into a block', async () => {
    const node = await startTestNode();
    const at = ['--node', node.url];
    const submitted = await client(['submit', 'pay bob 5', ...at]);
    expect(submitted.code).toBe(0);
    expect(submitted.stdout.trim()).toBe(sha256('pay bob 5'));

    const file = join(await trackedTempDir(), 'entry.txt');
    await writeFile(file, 'from a file\nwith two lines');
    const fromFile = await client(['submit', '--file', file, ...at]);
    expect(fromFile.stdout.trim()).toBe(sha256('from a file\nwith two lines'));
    // A text that starts with a dash, after --.
    expect((await client([...at, 'submit', '--', '-5 to carol'])).stdout.trim()).toBe(sha256('-5 to carol'));

    const waiting = await client(['pending', ...at]);
    expect(waiting.stdout).toMatch(/^3 pending entries/);
    expect(waiting.stdout).toContain(`${sha256('pay bob 5')}  pay bob 5`);
    expect(waiting.stdout).toContain('from a file\\u000awith two lines');
    const pending = await client(['data', sha256('pay bob 5'), ...at]);
    expect(pending.stdout).toMatch(/^state\s+pending$/m);

    await client(['mine', '2', ...at]);
    const confirmed = await client(['data', sha256('pay bob 5'), ...at]);
    expect(confirmed.code).toBe(0);
    expect(confirmed.stdout).toMatch(new RegExp(`^state\\s+confirmed in block 0 \\(${node.chain().at(0n)!.hash}\\), 2 confirmation`, 'm'));
    const block = await client(['block', '0', ...at]);
    expect(block.stdout).toMatch(/^entries\s+3$/m);
    expect(block.stdout).toContain(`  ${sha256('pay bob 5')}  pay bob 5`);
  });

  it('shows control characters in block data as escapes, never raw', async () => {
    const node = await startTestNode();
    await client(['submit', 'red \u001b[31malert\u0007', '--node', node.url]);
    await client(['mine', '1', '--node', node.url]);
    const shown = await client(['block', '0', '--node', node.url]);
    expect(shown.stdout).not.toContain('\u001b');
    expect(shown.stdout).not.toContain('\u0007');
    expect(shown.stdout).toContain('red \\u001b[31malert\\u0007');
  });

  it('peers, peers add and peers remove', async () => {
    const node = await startTestNode();
    const other = await startTestNode({}, {}, 'other');
    const at = ['--node', node.url];
    expect((await client(['peers', ...at])).stdout.trim()).toBe('no peers');
    const added = await client(['peers', 'add', other.url, ...at]);
    expect(added.code).toBe(0);
    expect(added.stdout.trim()).toBe(`added ${other.url}`);
    expect((await client(['peers', ...at])).stdout).toContain(other.url);
    expect((await client(['peers', 'remove', other.url, ...at])).stdout.trim()).toBe(`removed ${other.url}`);
    const again = await client(['peers', 'remove', other.url, ...at]);
    expect(again.code).toBe(1);
    expect(again.stderr.trim()).toBe(`jbc-ts: ${other.url} is not a peer (NOT_FOUND, 404)`);
  });

  it('mine sends the admin token from --admin-token or JBC_ADMIN_TOKEN; without it the node refuses (exit 1)', async () => {
    const node = await startTestNode({ adminToken: 'token-of-the-admin' });
    const refused = await client(['mine', '1', '--node', node.url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^jbc-ts: .*admin token.*\(FORBIDDEN, 403\)\n$/);
    expect(node.chain().length).toBe(0);
    expect((await client(['mine', '1', '--node', node.url, '--admin-token', 'token-of-the-admin'])).code).toBe(0);
    expect((await client(['mine', '1'], { JBC_NODE: node.url, JBC_ADMIN_TOKEN: 'token-of-the-admin' })).code).toBe(0);
    expect(node.chain().length).toBe(2);
  });

  it('runs through the bin as well, with its options before the command', async () => {
    const node = await startTestNode();
    const run = await client(['--node', node.url, '--json', 'status'], {}, [join(packageRoot(), 'bin', 'jbc-ts.mjs')]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).url).toBe(node.status().url);
  });
});

describe('jbc-ts client exit codes', () => {
  it('1 when the node answers with an error', async () => {
    const node = await startTestNode();
    const missing = await client(['block', '99', '--node', node.url]);
    expect(missing).toMatchObject({ code: 1, stdout: '', stderr: 'jbc-ts: no block 99 (NOT_FOUND, 404)\n' });
  });

  it.each([
    [['status', '--from', '3']],
    [['block']],
    [['block', 'abc']],
    [['mine', 'lots']],
    [['data', 'xyz']],
    [['frobnicate']],
    [['status', '--nope']],
    [['submit', '--file', '/nonexistent/entry.txt']],
  ])('2 for the command line %j, with one line', async (args) => {
    const run = await client([...args, '--node', 'http://127.0.0.1:9/']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('3 when no node answers, or none in time', async () => {
    const down = await client(['status', '--node', 'http://127.0.0.1:9/']);
    expect(down.code).toBe(3);
    expect(down.stderr).toMatch(/^jbc-ts: cannot reach http:\/\/127\.0\.0\.1:9\/ \(ECONNREFUSED\)/);
    const silent = await fakeNode(() => undefined);
    const slow = await client(['status', '--node', silent, '--timeout', '0.5']);
    expect(slow.code).toBe(3);
    expect(slow.stderr).toContain('no answer from');
  });

  it('4 when the answer fails the checks: a block whose hash is wrong, or not JSON', async () => {
    const good = mineBlock({ index: 0n, prevHash: '', data: 'genesis', timestamp: 1n }, 2);
    const forged = { ...blockToJson(good), data: 'changed' };
    const status = JSON.stringify({ height: 0, tip: { index: '0', hash: good.hash }, difficulty: 2, peers: [], mining: { enabled: false } });
    const liar = await fakeNode((path) => (path === '/status' ? { body: status } : { body: JSON.stringify(forged) }));
    const run = await client(['block', '0', '--node', liar]);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('hash does not match its contents');

    const unlinked = mineBlock({ index: 1n, prevHash: 'f'.repeat(64), data: 'elsewhere', timestamp: 2n }, 2);
    const broken = await fakeNode((path) =>
      path === '/status' ? { body: status.replace('"height":0', '"height":1') } : { body: JSON.stringify([blockToJson(good), blockToJson(unlinked)]) },
    );
    const chain = await client(['blocks', '--from', '0', '--node', broken]);
    expect(chain.code).toBe(4);
    expect(chain.stderr).toContain('prev_hash is not the hash of block 0');

    const html = await fakeNode(() => ({ type: 'text/html', body: '<html></html>' }));
    const notJson = await client(['status', '--node', html]);
    expect(notJson.code).toBe(4);
    expect(notJson.stderr).toContain('the answer is not JSON');
  });
});
