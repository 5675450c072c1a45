/**
 * The explorer page: its files as the node serves them, and the page itself
 * in headless Chromium against real nodes (a scripted miner makes blocks on
 * demand). Kept to few page loads: each test loads the page once.
 */
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { blockHeader, blockToJson, sealBlock } from '../../src/block.js';
import { easyChain, mineBlock, workFork } from '../helpers/fixtures.js';
import { findChromium, launchChromium, waitForText } from './helpers/browser.js';
import { apiPeer } from './helpers/fake-peers.js';
import { loadFixtures, writeDataDir, type ChainFixtures } from './helpers/fixtures.js';
import { closeAll, http, postJson, nodeWith, startTestNode, track, trackedTempDir, waitFor } from './helpers/nodes.js';
import { ScriptedMiner } from './helpers/scripted-miner.js';

let f: ChainFixtures;
beforeAll(async () => {
  f = await loadFixtures();
});
afterEach(closeAll);

const XSS = '<img src=x onerror="window.__xss = true; alert(1)">';

/** An entry's id, as the node gives it. */
const entryId = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The page's least time between two updates of the live table (blocks-table.ts). */
const LIVE_GAP_MS = 3_000;

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

/** A desktop screen and a phone's. */
const SCREENS: ReadonlyArray<{ readonly width: number; readonly height: number }> = [
  { width: 1280, height: 900 },
  { width: 390, height: 844 },
];

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

    /** The screen the next page opens on. */
    let screen = SCREENS[0]!;

    async function open(url: string, onRequest?: (url: string) => void, viewport = screen): Promise<{ page: Page; dialogs: string[]; errors: string[] }> {
      const page = await browser.newPage({ viewport });
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

    // Every feature of the page, on a desktop screen and on a phone's.
    for (const viewport of SCREENS) {
      describe(`at ${viewport.width} px`, () => {
        beforeEach(() => {
          screen = viewport;
        });

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
          const id = entryId(XSS);
          await waitForText(page, '#pool-body', /0 pending entries/);
          await page.fill('#submit-text', XSS);
          await page.click('#submit-form button[type=submit]');
          await waitForText(page, '#pool-body', /1 pending entry/);
          expect(await page.locator('#pool-body li').first().textContent()).toContain('<img');
          expect(await page.locator('#pool-body img').count()).toBe(0);
          expect(await page.locator('#pool-body li a').getAttribute('href')).toBe(`#/data/${id}`);
          // What the submit answered is still there after the list was read again.
          expect(await page.locator('#submit-result').textContent()).toContain(`Queued as ${id}`);
          await waitForText(page, '[data-fact="hash rate"]', '1.23 kH/s');

          // Marks this document: a reload would lose it.
          await page.evaluate(() => Object.assign(globalThis, { __sameDocument: true }));
          // The entry's page follows it from the pool into a block.
          await page.click('#submitted-id');
          await waitForText(page, '#entry-fields [data-field="state"]', 'pending: waiting for a block');
          expect(await page.locator('#entry-fields [data-field="data"]').textContent()).toBe(XSS);
          // The search running took its template before the entry came: the next block takes it.
          const plain = await miner.solve();
          expect((await miner.searches(2)).data).toContain('jbc-ts/entries/1 ');
          const mined = await miner.solve();
          await waitForText(page, '#entry-fields [data-field="state"]', 'confirmed');
          expect(await page.locator('#entry-block').textContent()).toBe('#12');
          expect(await page.locator('#entry-block').getAttribute('href')).toBe(`#/blocks/hash/${mined.hash}`);
          expect(await page.locator('#entry-fields [data-field="confirmations"]').textContent()).toBe('1');
          await waitForText(page, '#height', '12');

          const tip = node.chain().tip!;
          const hostile = mineBlock({ index: tip.index + 1n, prevHash: tip.hash, data: XSS, timestamp: 1_700_000_500n }, f.difficulty);
          expect((await postJson(`${node.url}mined`, blockToJson(hostile))).json.accepted).toBe(true);
          await waitForText(page, '#entry-fields [data-field="confirmations"]', '2');

          // The block that took it lists its entries decoded, each linking to its page.
          await page.click('#entry-block');
          await waitForText(page, '#block-title', 'Block #12');
          expect(await page.locator('#block-entry-list li').count()).toBe(1);
          expect(await page.locator('#block-entry-list li a').getAttribute('href')).toBe(`#/data/${id}`);
          expect(await page.locator('#block-entry-list .entry-text').textContent()).toBe(XSS);
          expect(await page.locator('#block-fields [data-field="confirmations"]').textContent()).toBe('2');
          expect(await page.locator('#block-fields [data-field="miner"]').textContent()).toBe(node.url);

          await page.click('.brand');
          await waitForText(page, '#blocks tbody tr:first-child td:first-child', '13');
          expect(await page.locator('#blocks tbody tr:first-child td.data').textContent()).toBe(XSS);
          expect(await page.locator('#blocks img').count()).toBe(0);
          const cells = async (index: string): Promise<Record<string, string>> => {
            const row = page.locator(`#blocks tbody tr[data-index="${index}"]`);
            const [hash, miner, entries, conf] = await Promise.all(
              ['.col-hash a', '.col-miner', '.col-entries', '.col-conf'].map((c) => row.locator(c).textContent()),
            );
            return {
              hash: (await row.locator('.col-hash a').getAttribute('title')) ?? '',
              shown: hash ?? '',
              miner: miner ?? '',
              entries: entries ?? '',
              conf: conf ?? '',
            };
          };
          expect(await cells('11')).toMatchObject({ hash: plain.hash, miner: 'this node', entries: '0', conf: '3' });
          expect(await cells('12')).toMatchObject({ hash: mined.hash, miner: 'this node', entries: '1', conf: '2' });
          expect(await cells('13')).toMatchObject({ hash: hostile.hash, miner: '—', entries: '0', conf: '1' });

          // Its block page shows the data and the header literally too.
          await page.fill('#search-input', '13');
          await page.press('#search-input', 'Enter');
          await waitForText(page, '#block-title', 'Block #13');
          expect(await page.locator('#block-fields [data-field="data"]').textContent()).toBe(XSS);
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
          expect(await page.locator('#block-fields [data-field="hash"]').textContent()).toBe(block.hash);
          expect(await page.locator('#block-fields [data-field="prev_hash"]').textContent()).toBe(block.prevHash);
          expect(await page.locator('#block-fields [data-field="nonce"]').textContent()).toBe(String(block.nonce));
          expect(await page.locator('#parent').getAttribute('href')).toBe('#/blocks/4');
          await waitForText(page, '#header-check', /✓ equals the block hash/);
          await page.click('#child');
          await waitForText(page, '#block-title', 'Block #6');
          expect(await page.locator('#block-fields [data-field="hash"]').textContent()).toBe(f.main[6]!.hash);

          await page.fill('#search-input', '3');
          await page.press('#search-input', 'Enter');
          await waitForText(page, '#block-title', 'Block #3');
          expect(await page.locator('#block-fields [data-field="hash"]').textContent()).toBe(f.main[3]!.hash);

          await page.fill('#search-input', f.main[7]!.hash.toUpperCase());
          await page.press('#search-input', 'Enter');
          await waitForText(page, '#block-title', 'Block #7');
          expect(await page.locator('#block-fields [data-field="index"]').textContent()).toBe('7');

          // Searches for what the node lacks say so where the search was made.
          await page.fill('#search-input', '99');
          await page.press('#search-input', 'Enter');
          await waitForText(page, '#message', "No block 99: this node's chain ends at block 11.");
          expect(await page.locator('#block-title').textContent()).toBe('Block #7');
          const unknown = 'ab'.repeat(32);
          await page.fill('#search-input', unknown);
          await page.press('#search-input', 'Enter');
          await waitForText(page, '#message', `Nothing on this node has the hash ${unknown}: no block, no data entry.`);

          // An entry id finds the entry.
          const data = 'searched for by its id';
          expect((await postJson(`${node.url}data`, { data })).status).toBe(202);
          await page.fill('#search-input', entryId(data));
          await page.press('#search-input', 'Enter');
          await waitForText(page, '#entry-fields [data-field="id"]', entryId(data));
          expect(await page.locator('#message').isHidden()).toBe(true);
          expect(await page.locator('#entry-fields [data-field="data"]').textContent()).toBe(data);

          // An address for a block the node lacks says so too, with no empty header box.
          await page.evaluate(() => {
            (globalThis as unknown as { location: { hash: string } }).location.hash = '#/blocks/99';
          });
          await waitForText(page, '#block-missing', 'This node has no block 99: its chain ends at block 11.');
          expect(await page.locator('#block-detail').isHidden()).toBe(true);

          await page.fill('#search-input', 'not a block');
          await page.press('#search-input', 'Enter');
          await waitForText(page, '#message', /block index .* a block hash or a data entry id/);
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
          // A page and the block below it (for the bottom row's interval).
          for (const url of asked) expect(Number(url.searchParams.get('limit'))).toBeLessThanOrEqual(21);

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

        it("fills the hash-rate chart from the node's last minutes at once, not from the samples that come after it opened", async () => {
          const miner = new ScriptedMiner();
          const node = await nodeWith(f.main.slice(0, 3), { mine: true }, { createMiner: async () => miner });
          await miner.searches(1);
          const history = await waitFor('two hash-rate samples', async () => {
            const { json } = await http(`${node.url}hashrate`);
            return json.samples.length >= 2 ? json : undefined;
          });
          expect(history).toMatchObject({ intervalMs: 2000, windowMs: 300_000 });
          expect(history.samples[0]).toMatchObject({ total: 1234, perWorker: [1234], hashes: 42 });
          const { page, errors } = await open(node.url);
          // The stream's events start when the page opens; only the node's history reaches back before it.
          await page.waitForFunction(
            ([first, count]) => {
              const chart = (
                globalThis as unknown as { document: { getElementById(id: string): { dataset: Record<string, string> } } }
              ).document.getElementById('chart');
              return Number(chart.dataset.from) <= first && Number(chart.dataset.samples) >= count;
            },
            [history.samples[0].at as number, history.samples.length as number] as const,
          );
          expect(await page.locator('#chart polyline.total').count()).toBe(1);
          expect(errors).toEqual([]);
        });

        it('applies blocks to the live table in batches, at most once per interval, and holds it while paused', async () => {
          const chain = easyChain(5);
          const dataDir = await trackedTempDir();
          await writeDataDir(dataDir, chain);
          const node = await startTestNode({ dataDir, difficulty: 0 });
          const { page, errors } = await open(node.url);
          await waitForText(page, '#blocks tbody tr:first-child td:first-child', '4');
          // Every change of the rows, with the time it happened and how many rows were new.
          await page.evaluate(() => {
            const g = globalThis as unknown as {
              document: { querySelector(s: string): { querySelectorAll(s: string): { length: number } } };
              MutationObserver: new (cb: () => void) => { observe(target: unknown, options: unknown): void };
              performance: { now(): number };
              __renders: Array<{ at: number; fresh: number }>;
            };
            g.__renders = [];
            const body = g.document.querySelector('#blocks tbody');
            new g.MutationObserver(() => g.__renders.push({ at: g.performance.now(), fresh: body.querySelectorAll('tr.fresh').length })).observe(body, {
              childList: true,
            });
          });
          const post = async (count: number): Promise<string> => {
            for (let i = 0; i < count; i++) {
              const tip = node.chain().tip!;
              const block = sealBlock({ index: tip.index + 1n, prevHash: tip.hash, data: `live ${tip.index + 1n}`, timestamp: 1_700_000_100n + tip.index }, 0n);
              expect((await postJson(`${node.url}mined`, blockToJson(block))).json.accepted).toBe(true);
            }
            return String(node.chain().height);
          };
          const last = await post(12);
          await waitForText(page, '#blocks tbody tr:first-child td:first-child', last);
          const renders = await page.evaluate(() => (globalThis as unknown as { __renders: Array<{ at: number; fresh: number }> }).__renders);
          for (let i = 1; i < renders.length; i++) expect(renders[i]!.at - renders[i - 1]!.at).toBeGreaterThanOrEqual(LIVE_GAP_MS - 50);
          expect(Math.max(...renders.map((r) => r.fresh))).toBeGreaterThan(1);
          expect(await page.locator('#blocks tbody tr').count()).toBe(17);

          // Paused, the table stays as it is and counts what arrived; following again shows it.
          await page.click('#follow');
          await waitForText(page, '#page-info', /· paused$/);
          const paused = await post(3);
          await waitForText(page, '#follow', 'Follow (3 new)');
          await waitForText(page, '#height', paused);
          expect(await page.locator('#blocks tbody tr:first-child td:first-child').textContent()).toBe(last);
          await page.click('#follow');
          await waitForText(page, '#blocks tbody tr:first-child td:first-child', paused);
          expect(await page.locator('#follow').textContent()).toBe('Pause');
          expect(errors).toEqual([]);
        });

        it("shows the next target as a difficulty with the target block time, the network's hash rate, and each block's target", async () => {
          const rule = { difficulty: 0, targetBlockTimeMs: 2000 };
          const { prefix, heavy } = workFork(rule);
          const node = await nodeWith([...prefix, ...heavy], rule);
          const { json: status } = await http(`${node.url}status`);
          const { page, errors } = await open(`${node.url}#/blocks/11`);
          await waitForText(page, '[data-figure="difficulty"] .figure-value', `${status.targetDifficulty} (target 2 s a block)`);
          expect(await page.locator('[data-figure="difficulty"]').getAttribute('title')).toContain(status.target);
          expect(await page.locator('[data-figure="network hash rate"] .figure-value').textContent()).not.toBe('—');
          const { json: target } = await http(`${node.url}blocks/11/target`);
          expect(BigInt(`0x${heavy.at(-1)!.hash}`)).toBeLessThanOrEqual(BigInt(`0x${target.target}`));
          await waitForText(page, '#block-fields [data-field="target"]', new RegExp(`^${target.target} \\(difficulty ${target.targetDifficulty}, work `));
          expect(errors).toEqual([]);
        });

        it('shows network figures that link to what they count, the reorgs among them', async () => {
          const node = await nodeWith(f.main);
          const { page, errors } = await open(node.url);
          await waitForText(page, '[data-figure="reorgs (last hour)"] .figure-value', '0');
          // A longer fork from block 5 on: the node drops blocks 5-11 for the peer's 5-13.
          const peer = track(await apiPeer(f.fork));
          expect((await postJson(`${node.url}peers`, { url: peer.url })).status).toBeLessThan(300);
          const stats = await waitFor('the reorg in the figures', async () => {
            const { json } = await http(`${node.url}stats`);
            return json.reorgs.count > 0 ? json : undefined;
          });
          expect(stats.reorgs).toMatchObject({ windowMs: 3_600_000, count: 1 });
          expect(stats.reorgs.recent[0]).toMatchObject({ forkPoint: '4', abandoned: 7, added: 9, height: '13' });
          expect(stats.blockTime).toMatchObject({ from: '0', to: '13' });

          await waitForText(page, '[data-figure="reorgs (last hour)"] .figure-value', '1');
          expect(await page.locator('[data-figure="mean block time"] a').getAttribute('href')).toBe('#/from/0');
          expect(await page.locator('[data-figure="mean block time"]').getAttribute('title')).toContain('#0–#13');
          // The fixtures' blocks are years old: none in the last minute, and nothing to link to.
          expect(await page.locator('[data-figure="blocks a minute"] .figure-value').textContent()).toBe('0');
          expect(await page.locator('[data-figure="blocks a minute"] a').count()).toBe(0);

          await page.click('[data-figure="reorgs (last hour)"] a');
          await waitForText(page, '#reorg-table tbody tr td:nth-child(2)', '#4');
          const row = await page.locator('#reorg-table tbody tr td').allTextContents();
          expect(row.slice(1)).toEqual(['#4', '7', '9', '#13', stats.reorgs.recent[0].source]);
          await page.click('#reorg-table tbody tr td:nth-child(2) a');
          await waitForText(page, '#block-title', 'Block #4');

          await page.click('.brand');
          await page.click('[data-figure="mean block time"] a');
          await waitForText(page, '#page-info', 'blocks 0–13 of 14');
          expect(errors).toEqual([]);
        });
      });
    }

    it('fits a 390 px wide screen and a 1280 px one, with long ids wrapped', async () => {
      const miner = new ScriptedMiner();
      const node = await nodeWith(f.main, { mine: true }, { createMiner: async () => miner });
      await miner.searches(1);
      const long = 'a long entry without any space '.repeat(8).replaceAll(' ', '_');
      const { page, errors } = await open(node.url, undefined, { width: 390, height: 844 });
      const fits = async (width: number, what: string, shown: readonly string[]): Promise<void> => {
        await page.setViewportSize({ width, height: 844 });
        const sizes = await page.evaluate(() => {
          const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number }; body: { scrollWidth: number } } }).document;
          return { html: d.documentElement.scrollWidth, body: d.body.scrollWidth };
        });
        expect(sizes.html, what).toBeLessThanOrEqual(width);
        expect(sizes.body, what).toBeLessThanOrEqual(width);
        // The header's parts lie inside the screen, the search box wide enough to type in.
        const header = ['.brand', '#node-url', '#height', '#tip', '#difficulty', '#conn', '#search-input', '#search button'];
        const figures = ['mean block time', 'blocks a minute', 'reorgs (last hour)'].map((name) => `[data-figure="${name}"]`);
        for (const selector of [...header, ...figures, ...shown]) {
          const box = (await page.locator(selector).first().boundingBox())!;
          expect(box, `${what}: ${selector} is shown`).not.toBeNull();
          expect(box.x, `${what}: ${selector}`).toBeGreaterThanOrEqual(0);
          expect(box.x + box.width, `${what}: ${selector}`).toBeLessThanOrEqual(width);
        }
        expect((await page.locator('#search-input').boundingBox())!.width, what).toBeGreaterThanOrEqual(200);
      };
      await waitForText(page, '#blocks tbody tr:first-child td:first-child', '11');
      await page.fill('#submit-text', long);
      await page.click('#submit-form button[type=submit]');
      await waitForText(page, '#submitted-id', entryId(long));
      await waitForText(page, '#pool-body', /1 pending entry/);
      // The table's identifying and timing columns, its switch and the pool's answer.
      const home = ['#blocks td.col-time', '#blocks td.col-interval', '#blocks td.col-entries', '#blocks td.col-conf', '#follow', '#older', '#submitted-id'];
      for (const width of [390, 1280]) await fits(width, `home at ${width}`, home);

      await miner.solve();
      await miner.searches(2);
      await miner.solve();
      await page.click('#submitted-id');
      await waitForText(page, '#entry-fields [data-field="state"]', 'confirmed');
      for (const width of [390, 1280]) await fits(width, `entry at ${width}`, ['#entry-block', '#entry-fields [data-field="confirmations"]']);
      await page.click('#entry-block');
      await waitForText(page, '#block-title', 'Block #13');
      await waitForText(page, '#block-entry-list .entry-text', long);
      const block = ['#block-entry-list a', '#block-fields [data-field="confirmations"]', '#parent', '#header-check'];
      for (const width of [390, 1280]) await fits(width, `block at ${width}`, block);
      await page.click('[data-figure="reorgs (last hour)"] a');
      await waitForText(page, '#reorg-note', /No reorgs in the last hour/);
      for (const width of [390, 1280]) await fits(width, `reorgs at ${width}`, ['#reorg-table th']);
      expect(errors).toEqual([]);
    });
  },
);
