import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JbcError } from '../../../src/errors.js';
import { parseCommandLine, USAGE } from '../../../src/node/args.js';
import { resolveNodeConfig } from '../../../src/node/options.js';

const files: Record<string, string> = {};
const env = (environment: Record<string, string> = {}) => ({
  cpus: 6,
  cwd: '/srv/jbc',
  environment,
  readFile: (path: string) => {
    const text = files[path];
    if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
    return text;
  },
});

function configOf(argv: string[], environment: Record<string, string> = {}) {
  const parsed = parseCommandLine(argv, env(environment));
  if (parsed.kind !== 'run') throw new Error('expected run');
  return { ...parsed, config: resolveNodeConfig(parsed.options) };
}

function messageOf(argv: string[], environment: Record<string, string> = {}): string {
  try {
    parseCommandLine(argv, env(environment));
  } catch (err) {
    if (err instanceof JbcError) return err.message;
    throw err;
  }
  throw new Error('accepted');
}

describe('options from variables and a config file', () => {
  it('takes every option from a JBC_ variable, in the flag’s units', () => {
    const { config, log } = configOf([], {
      JBC_PORT: '5002',
      JBC_NO_MINE: 'true',
      JBC_SYNC_INTERVAL: '7',
      JBC_PEERS: 'http://a:1,http://b:2',
      JBC_LOG_FORMAT: 'pretty',
      JBC_ADMIN_TOKEN: 'secret-token',
    });
    expect(config).toMatchObject({ port: 5002, mine: false, syncIntervalMs: 7000, adminToken: 'secret-token' });
    expect(config.peers).toEqual(['http://a:1/', 'http://b:2/']);
    expect(log.pretty).toBe(true);
  });

  it('reads a JSON config file whose keys are the flags', () => {
    files['/srv/jbc/node.json'] = JSON.stringify({ port: 5003, 'no-mine': true, peers: ['http://a:1'], 'block-time': 2.5, 'data-dir': 'd' });
    const { config } = configOf(['--config', 'node.json']);
    expect(config).toMatchObject({ port: 5003, mine: false, blockTimeMs: 2500 });
    expect(config.peers).toEqual(['http://a:1/']);
    expect(config.dataDir).toBe(join('/srv/jbc', 'd'));
  });

  it('ranks a flag over a variable over the file over the default', () => {
    files['/srv/jbc/rank.json'] = JSON.stringify({ port: 5001, difficulty: 3, workers: 2, 'sync-timeout': 9 });
    const { config } = configOf(['--config', 'rank.json', '--port', '5007'], { JBC_PORT: '5005', JBC_DIFFICULTY: '4' });
    expect(config).toMatchObject({ port: 5007, difficulty: 4, workers: 2, syncTimeoutMs: 9000, syncIntervalMs: 30_000 });
  });

  it('lets a later source turn a switch back', () => {
    files['/srv/jbc/follower.json'] = JSON.stringify({ 'no-mine': true });
    expect(configOf(['--config', 'follower.json']).config.mine).toBe(false);
    expect(configOf(['--config', 'follower.json'], { JBC_MINE: '1' }).config.mine).toBe(true);
    expect(configOf(['--config', 'follower.json', '--mine']).config.mine).toBe(true);
    expect(configOf([], { JBC_NO_MINE: 'false' }).config.mine).toBe(true);
  });

  it('finds the file through JBC_CONFIG', () => {
    files['/srv/jbc/env.json'] = JSON.stringify({ port: 5010 });
    expect(configOf([], { JBC_CONFIG: 'env.json' }).config.port).toBe(5010);
  });

  it.each([
    [[], { JBC_PORT: 'abc' }, 'JBC_PORT must be an integer from 0 to 65535, got "abc"'],
    [[], { JBC_NO_MINE: 'maybe' }, 'JBC_NO_MINE must be true or false'],
    [[], { JBC_PEERS: 'gopher://x' }, 'JBC_PEERS has a bad URL'],
    [[], { JBC_MINE: 'true', JBC_NO_MINE: 'true' }, 'JBC_MINE contradicts JBC_NO_MINE'],
    [['--config', 'missing.json'], {}, '--config /srv/jbc/missing.json: cannot read it (ENOENT)'],
  ])('names the source of a bad value: %j %j', (argv, environment, message) => {
    expect(messageOf(argv, environment)).toContain(message);
  });

  it.each([
    [{ port: 'x' }, '"port" in /srv/jbc/bad.json must be an integer from 0 to 65535, got "x"'],
    [{ port: 1.5 }, '"port" in /srv/jbc/bad.json must be an integer'],
    [{ prot: 1 }, '--config /srv/jbc/bad.json: "prot" is not an option'],
    [{ help: true }, '"help" is not an option'],
    [{ config: 'other.json' }, '"config" is not an option'],
    [{ 'no-mine': 'yes' }, '"no-mine" in /srv/jbc/bad.json must be true or false'],
    [{ peers: ['gopher://x'] }, '"peers" in /srv/jbc/bad.json has a bad URL'],
    [{ peers: [1] }, '"peers" in /srv/jbc/bad.json must be an array of strings'],
    [[1], '--config /srv/jbc/bad.json: must hold one JSON object'],
  ])('names the file and key of a bad value: %j', (content, message) => {
    files['/srv/jbc/bad.json'] = JSON.stringify(content);
    const text = messageOf(['--config', 'bad.json']);
    expect(text).toContain(message);
    expect(text).not.toContain('\n');
  });

  it('refuses a file that is not JSON in one line', () => {
    files['/srv/jbc/broken.json'] = '{"port": 5,}';
    const text = messageOf(['--config', 'broken.json']);
    expect(text).toMatch(/^--config \/srv\/jbc\/broken\.json: /);
    expect(text).not.toContain('\n');
  });

  it('documents the variables and the precedence in --help', () => {
    expect(USAGE).toContain('JBC_DATA_DIR');
    expect(USAGE).toMatch(/Precedence: a\s+flag, then a variable, then the config file, then the default/);
  });
});
