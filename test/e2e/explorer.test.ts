/**
 * The explorer page: its files as the node serves them, and the page itself
 * in headless Chromium against real nodes (a scripted miner makes blocks on
 * demand). Kept to few page loads: each test loads the page once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { blockHeader, blockToJson, sealBlock } from '../../src/block.js';
import { easyChain, mineBlock } from '../helpers/fixtures.js';
import { findChromium, launchChromium, waitForText } from './helpers/browser.js';
import { apiPeer } from './helpers/fake-peers.js';
import { loadFixtures, writeDataDir, type ChainFixtures } from './helpers/fixtures.js';
import { closeAll, http, postJson, nodeWith, startTestNode, track, trackedTempDir } from './helpers/nodes.js';
import { ScriptedMiner } from './helpers/scripted-miner.js';

let f: ChainFixtures;
beforeAll(async () => {
  f = await loadFixtures();
});
afterEach(closeAll);

const XSS = '<img src=x onerror="window.__xss = true; alert(1)">';

describe('explorer files', () => {
  it('serves the page at / with a policy that allows only its own scripts', async () => {
    const node = await startTestNode();
    const page = await http(node.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('<script type="module" src="/explorer/main.js">');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const script = await http(`${node.url}explorer/main.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.text).toContain('EventSource');
  });

  it('serves nothing outside the page folder', async () => {
    const node = await startTestNode();
    for (const path of ['explorer/..%2Fpackage.json', 'explorer/%2E%2E%2Fsrc%2Fcli.js', 'explorer/none.js', 'explorer/main.ts']) {
      const { status, json } = await http(`${node.url}${path}`);
      expect(status, path).toBe(404);
      expect(json.error.code, path).toBe('NOT_FOUND');
    }
  });
});

const chromiumPath = findChromium();

describe.skipIf(chromiumPath === undefined)(
  `explorer page in Chromium${chromiumPath === undefined ? ' (skipped: no Chromium found; apt-get install chromium, or set CHROMIUM_PATH)' : ''}`,
  () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await launchChromium(chromiumPath!);
    });
    afterAll(async () => {
      await browser?.close();
    });

    async function open(url: string, onRequest?: (url: string) => void): Promise<{ page: Page; dialogs: string[]; errors: string[] }> {
      const page = await browser.newPage();
      if (onRequest !== undefined) page.on('request', (request) => onRequest(request.url()));
      track({ close: () => page.close() });
      const dialogs: string[] = [];
      const errors: string[] = [];
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      page.on('pageerror', (err) => errors.push(err.message));
      await page.goto(url);
      return { page, dialogs, errors };
    }

    it('shows the chain, adds new blocks without a reload, and renders hostile data as text', async () => {
      const peer = track(await apiPeer(f.main.slice(0, 11)));
      const miner = new ScriptedMiner();
      const node = await nodeWith(f.main.slice(0, 11), { mine: true, peers: [peer.url] }, { createMiner: async () => miner });
      await miner.searches(1);
      const { page, dialogs, errors } = await open(node.url);

      await waitForText(page, '#height', '10');
      await waitForText(page, '#conn', 'live');
      await waitForText(page, '#blocks tbody tr:first-child td:first-child', '10');
      expect(await page.locator('#blocks tbody tr').count()).toBe(11);
      await waitForText(page, '#node-url', node.url);
      await waitForText(page, '#peer-table tbody tr:first-child td:first-child', peer.url);
      // The pool, with an entry submitted through the page's form: hostile text stays text there too.
      await waitForText(page, '#pool-body', /0 pending entries/);
      await page.fill('#pool-body textarea', XSS);
      await page.click('#pool-body button[type=submit]');
      await waitForText(page, '#pool-body', /1 pending entry/);
      expect(await page.locator('#pool-body li').first().textContent()).toContain('<img');
      expect(await page.locator('#pool-body img').count()).toBe(0);
      await waitForText(page, '[data-fact="hash rate"]', '1.23 kH/s');

      // Marks this document: a reload would lose it.
      await page.evaluate(() => Object.assign(globalThis, { __sameDocument: true }));
      const mined = await miner.solve();
      await waitForText(page, '#blocks tbody tr:first-child td:first-child', '11');
      await waitForText(page, '#height', '11');
      expect(await page.locator('#blocks tbody tr:first-child td:nth-child(2) a').getAttribute('title')).toBe(mined.hash);

      const tip = node.chain().tip!;
      const hostile = mineBlock({ index: tip.index + 1n, prevHash: tip.hash, data: XSS, timestamp: 1_700_000_500n }, f.difficulty);
      expect((await postJson(`${node.url}mined`, blockToJson(hostile))).json.accepted).toBe(true);
      await waitForText(page, '#blocks tbody tr:first-child td:first-child', '12');
      expect(await page.locator('#blocks tbody tr:first-child td.data').textContent()).toBe(XSS);
      expect(await page.locator('#blocks img').count()).toBe(0);

      // Its block page shows the data and the header literally too.
      await page.fill('#search-input', '12');
      await page.press('#search-input', 'Enter');
      await waitForText(page, '#block-title', 'Block #12');
      expect(await page.locator('[data-field="data"]').textContent()).toBe(XSS);
      expect(await page.locator('#block-header').textContent()).toBe(blockHeader(hostile, hostile.nonce));
      expect(await page.locator('main img').count()).toBe(0);

      expect(await page.evaluate(() => (globalThis as { __xss?: boolean }).__xss)).toBeUndefined();
      expect(await page.evaluate(() => (globalThis as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
      expect(dialogs).toEqual([]);
      expect(errors).toEqual([]);
    });

    it('shows a block with its hashed header and family links, and finds blocks by index and by hash', async () => {
      const node = await nodeWith(f.main);
      const { page, errors } = await open(`${node.url}#/blocks/5`);
      const block = f.main[5]!;

      await waitForText(page, '#block-title', 'Block #5');
      expect(await page.locator('#block-header').textContent()).toBe(blockHeader(block, block.nonce));
      expect(await page.locator('[data-field="hash"]').textContent()).toBe(block.hash);
      expect(await page.locator('[data-field="prev_hash"]').textContent()).toBe(block.prevHash);
      expect(await page.locator('[data-field="nonce"]').textContent()).toBe(String(block.nonce));
      expect(await page.locator('#parent').getAttribute('href')).toBe('#/blocks/4');
      await waitForText(page, '#header-check', /✓ equals the block hash/);
      await page.click('#child');
      await waitForText(page, '#block-title', 'Block #6');
      expect(await page.locator('[data-field="hash"]').textContent()).toBe(f.main[6]!.hash);

      await page.fill('#search-input', '3');
      await page.press('#search-input', 'Enter');
      await waitForText(page, '#block-title', 'Block #3');
      expect(await page.locator('[data-field="hash"]').textContent()).toBe(f.main[3]!.hash);

      await page.fill('#search-input', f.main[7]!.hash.toUpperCase());
      await page.press('#search-input', 'Enter');
      await waitForText(page, '#block-title', 'Block #7');
      expect(await page.locator('[data-field="index"]').textContent()).toBe('7');

      await page.fill('#search-input', '99');
      await page.press('#search-input', 'Enter');
      await waitForText(page, '#block-fields', 'This node has no block 99.');

      await page.fill('#search-input', 'not a block');
      await page.press('#search-input', 'Enter');
      await waitForText(page, '#message', /block index .* or a block hash/);
      expect(errors).toEqual([]);
    });

    it('pages through a long chain a page at a time, and reconnects after a node restart', async () => {
      // Difficulty 0 accepts any hash, so a chain of several pages is quick to make.
      const chain = easyChain(45);
      const dataDir = await trackedTempDir();
      await writeDataDir(dataDir, chain);
      const first = await startTestNode({ dataDir, difficulty: 0 });
      const requests: string[] = [];
      const { page, errors } = await open(first.url, (url) => requests.push(url));
      const rows = async (): Promise<string[]> => page.locator('#blocks tbody tr td:first-child').allTextContents();
      const range = (from: number, to: number): string[] => Array.from({ length: from - to + 1 }, (_, i) => String(from - i));

      await waitForText(page, '#blocks tbody tr:first-child td:first-child', '44');
      expect(await rows()).toEqual(range(44, 25));
      await page.click('#older');
      await waitForText(page, '#blocks tbody tr:first-child td:first-child', '24');
      expect(await rows()).toEqual(range(24, 5));
      await page.click('#older');
      await waitForText(page, '#blocks tbody tr:first-child td:first-child', '19');
      expect(await rows()).toEqual(range(19, 0));
      expect(await page.locator('#older').isDisabled()).toBe(true);
      await page.click('#newest');
      await waitForText(page, '#blocks tbody tr:first-child td:first-child', '44');
      // Nothing asked for the whole chain.
      const asked = requests.map((url) => new URL(url)).filter((url) => url.pathname.startsWith('/block'));
      expect(asked.map((url) => url.pathname)).not.toContain('/blockchain.json');
      for (const url of asked) expect(url.searchParams.get('limit')).toBe('20');

      await first.close();
      await waitForText(page, '#conn', 'reconnecting…');
      const second = await startTestNode({ dataDir, difficulty: 0, port: first.port });
      await waitForText(page, '#conn', 'live');
      const next = sealBlock({ index: 45n, prevHash: chain[44]!.hash, data: 'after the restart', timestamp: 1_700_000_600n }, 0n);
      expect((await postJson(`${second.url}mined`, blockToJson(next))).json.accepted).toBe(true);
      await waitForText(page, '#blocks tbody tr:first-child td.data', 'after the restart');
      await waitForText(page, '#height', '45');
      expect(errors).toEqual([]);
    });
  },
);
