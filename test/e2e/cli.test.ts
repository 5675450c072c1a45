/**
 * The real command line, as a user runs it: `node dist/src/cli.js` (needs
 * `npm run build`; `npm test` builds first).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { distPath, packageRoot } from '../../src/paths.js';
import { closeAll, http, trackedTempDir, waitFor } from './helpers/nodes.js';
import { collectLines, exited, killAll, spawnTracked } from './helpers/processes.js';

const cli = distPath('src', 'cli.js');

function runCli(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { cwd: packageRoot(), encoding: 'utf8', timeout: 20_000 });
}

afterEach(async () => {
  await killAll();
  await closeAll();
});

describe('cli', () => {
  it('prints the usage for --help and exits 0', () => {
    const result = runCli(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: /);
    for (const flag of ['--port', '--host', '--workers', '--no-mine', '--difficulty', '--peers', '--data-dir']) {
      expect(result.stdout).toContain(flag);
    }
  });

  it.each([
    [['--port', 'abc'], '--port'],
    [['--difficulty', '-2'], '--difficulty'],
    [['--workers', '0'], '--workers'],
    [['--peers', 'gopher://x'], '--peers'],
    [['--frobnicate'], '--frobnicate'],
  ])('exits non-zero with one line naming the option for %j', (args, flag) => {
    const result = runCli(args);
    expect(result.status).not.toBe(0);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(flag);
    expect(result.stdout).toBe('');
  });

  it('starts a real node process that answers /status and stops on SIGTERM', async () => {
    const dataDir = await trackedTempDir();
    const child = spawn(process.execPath, [cli, '--port', '0', '--no-mine', '--peers', '', '--difficulty', '2', '--data-dir', dataDir], {
      cwd: packageRoot(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const lines: Array<Record<string, unknown>> = [];
      const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "node ready" line; got ${JSON.stringify(lines)}`)), 15_000);
        createInterface({ input: child.stdout! }).on('line', (line) => {
          const record = JSON.parse(line) as Record<string, unknown>;
          lines.push(record);
          if (record.msg === 'node ready') {
            clearTimeout(timer);
            resolve(record);
          }
        });
      });
      // Structured logs: level and timestamp on every line.
      for (const line of lines) expect(line).toMatchObject({ level: expect.any(String), time: expect.any(String) });
      const url = String(ready.url);
      const status = await http(`${url}status`);
      expect(status.json).toMatchObject({ height: -1, tip: null, difficulty: 2, peers: [], mining: { enabled: false } });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it.each([
    ['its stdout', false],
    ['its stdout and stderr (2>&1)', true],
  ])('keeps running when the reader of the pipe on %s goes away (| head), and still stops cleanly', async (_, merged) => {
    const dataDir = await trackedTempDir();
    // debug: every HTTP request writes a line, so the requests below write into the closed pipe.
    const args = [cli, '--port', '0', '--no-mine', '--peers', '', '--log-level', 'debug', '--data-dir', dataDir];
    const child = merged
      ? spawnTracked('sh', ['-c', 'exec "$@" 2>&1', 'sh', process.execPath, ...args], { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'ignore'] })
      : spawnTracked(process.execPath, args, { cwd: packageRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
    const code = exited(child);
    const stderr = merged ? [] : collectLines(child.stderr!);
    const url = await new Promise<string>((resolve) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const record = JSON.parse(line) as Record<string, unknown>;
        if (record.msg === 'node ready') resolve(String(record.url));
      });
    });
    child.stdout!.destroy(); // what `head` does after its lines

    for (let i = 0; i < 5; i++) expect((await http(`${url}status`)).status).toBe(200);
    if (!merged) await waitFor('the log failure to be reported on stderr', () => stderr.some((line) => /EPIPE/.test(line)));
    expect((await http(`${url}status`)).status).toBe(200);
    child.kill('SIGTERM');
    expect(await code).toBe(0);
  });
});
