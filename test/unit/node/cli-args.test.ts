import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, JbcError } from '../../../src/errors.js';
import { parseCommandLine, USAGE } from '../../../src/node/args.js';
import { resolveNodeConfig } from '../../../src/node/options.js';

const env = { cpus: 6, cwd: '/srv/jbc' };

function run(argv: string[]) {
  const parsed = parseCommandLine(argv, env);
  if (parsed.kind !== 'run') throw new Error('expected run');
  return { ...parsed, config: resolveNodeConfig(parsed.options) };
}

function errorOf(argv: string[]): JbcError {
  try {
    parseCommandLine(argv, env);
  } catch (err) {
    if (err instanceof JbcError) return err;
    throw err;
  }
  throw new Error(`${argv.join(' ')} was accepted`);
}

describe('command line', () => {
  it('has the documented defaults', () => {
    const { config, log } = run([]);
    expect(config).toMatchObject({ port: 5000, host: '127.0.0.1', workers: 6, engine: 'auto', mine: true, difficulty: 5 });
    expect(config.dataDir).toBe(join('/srv/jbc', 'chaindata', '5000'));
    expect(config.peers).toEqual(['http://localhost:5000/', 'http://localhost:5001/', 'http://localhost:5002/', 'http://localhost:5003/']);
    expect(config.defaultPeers).toBe(true);
    expect(log).toEqual({ level: 'info', pretty: false });
  });

  it('takes every option', () => {
    const { config, log } = run([
      '--port',
      '5002',
      '--host',
      '0.0.0.0',
      '--workers',
      '3',
      '--no-mine',
      '--difficulty',
      '2',
      '--peers',
      'http://a:1,https://b.example/x',
      '--data-dir',
      'data/b',
      '--public-url',
      'http://b.example:5002',
      '--log-level',
      'debug',
      '--log-format',
      'pretty',
      '--engine',
      'wasm-simd',
    ]);
    expect(config).toMatchObject({ port: 5002, host: '0.0.0.0', workers: 3, engine: 'wasm-simd', mine: false, difficulty: 2, defaultPeers: false });
    expect(config.peers).toEqual(['http://a:1/', 'https://b.example/x/']);
    expect(config.dataDir).toBe(join('/srv/jbc', 'data', 'b'));
    expect(config.publicUrl).toBe('http://b.example:5002/');
    expect(log).toEqual({ level: 'debug', pretty: true });
  });

  it('puts the default data dir under the port, so nodes share a checkout', () => {
    expect(run(['--port', '5003']).config.dataDir).toBe(join('/srv/jbc', 'chaindata', '5003'));
  });

  it('reads --peers "" as no peers', () => {
    expect(run(['--peers', '']).config.peers).toEqual([]);
  });

  it('reads --peer-allow as CIDR ranges; explicit peers must be inside them, default peers outside are dropped', () => {
    expect(run(['--peer-allow', '10.0.0.0/8, fd00::/8']).config.peerAllow).toEqual(['10.0.0.0/8', 'fd00::/8']);
    expect(run([]).config.peerAllow).toEqual([]);
    expect(run(['--peer-allow', '10.0.0.0/8', '--peers', 'http://10.1.1.1:5000/']).config.peers).toEqual(['http://10.1.1.1:5000/']);
    expect(run(['--peer-allow', '10.0.0.0/8']).config.peers).toEqual([
      'http://localhost:5000/',
      'http://localhost:5001/',
      'http://localhost:5002/',
      'http://localhost:5003/',
    ]);
  });

  it('reads --max-connections', () => {
    expect(run(['--max-connections', '64']).config.maxConnections).toBe(64);
    expect(run([]).config.maxConnections).toBe(256);
  });

  it('answers --help and -h with the usage', () => {
    expect(parseCommandLine(['--help'], env)).toEqual({ kind: 'help', text: USAGE });
    expect(parseCommandLine(['-h', '--port', 'nonsense'], env).kind).toBe('help');
    for (const flag of [
      '--port',
      '--host',
      '--workers',
      '--no-mine',
      '--difficulty',
      '--peers',
      '--data-dir',
      '--jbc-files',
      '--peer-allow',
      '--max-connections',
      '--help',
      '--version',
    ]) {
      expect(USAGE).toContain(flag);
    }
  });

  it('answers --version with a version request, whatever else is given', () => {
    expect(parseCommandLine(['--version'], env)).toEqual({ kind: 'version' });
    expect(parseCommandLine(['--version', '--port', 'nonsense'], env)).toEqual({ kind: 'version' });
  });

  it.each([
    [['--port', 'abc'], '--port'],
    [['--port', '70000'], '--port'],
    [['--port', '-1'], '--port'],
    [['--port'], '--port'],
    [['--workers', '0'], '--workers'],
    [['--workers', '1.5'], '--workers'],
    [['--difficulty', '65'], '--difficulty'],
    [['--difficulty', 'five'], '--difficulty'],
    [['--difficulty', '-2'], '--difficulty'],
    [['--difficulty=-2'], '--difficulty'],
    [['--peers', 'ftp://x/'], '--peers'],
    [['--peers', 'not a url'], '--peers'],
    [['--peers', 'http://169.254.169.254/'], '--peers'],
    [['--peer-allow', '10.0.0.0/8', '--peers', 'http://192.168.1.1:5000/'], '--peers'],
    [['--peer-allow', '10.0.0.0/40'], '--peer-allow'],
    [['--max-connections', '0'], '--max-connections'],
    [['--max-connections', 'many'], '--max-connections'],
    [['--peer-allow', 'example.com'], '--peer-allow'],
    [['--data-dir', ''], '--data-dir'],
    [['--data-dir', '/'], '--data-dir'],
    [['--host', ''], '--host'],
    [['--public-url', 'mailto:a@b'], '--public-url'],
    [['--public-url', 'http://0.0.0.0:5000/'], '--public-url'],
    [['--log-level', 'loud'], '--log-level'],
    [['--log-format', 'xml'], '--log-format'],
    [['--engine', 'native-avx512'], '--engine'],
    [['--bogus'], '--bogus'],
    [['--no-mine=1'], '--no-mine'],
    [['stray'], 'stray'],
  ])('rejects %j with one line naming %s', (argv, flag) => {
    const err = errorOf(argv);
    expect(err.code).toBe(ErrorCode.BAD_OPTION);
    expect(err.message).toContain(flag);
    expect(err.message).not.toContain('\n');
  });
});

describe('sync options', () => {
  it('default to a sync every 30 s and a 30 s startup deadline', () => {
    expect(run([]).config).toMatchObject({ syncIntervalMs: 30_000, syncTimeoutMs: 30_000 });
  });

  it('take seconds: --sync-interval 0 turns the periodic sync off', () => {
    expect(run(['--sync-interval', '0', '--sync-timeout', '5']).config).toMatchObject({ syncIntervalMs: 0, syncTimeoutMs: 5_000 });
  });

  it.each([['--sync-interval'], ['--sync-timeout']])('%s refuses a value that is not whole seconds', (flag) => {
    expect(errorOf([flag, '1.5']).message).toMatch(new RegExp(`^${flag} must be a number of whole seconds`));
    expect(USAGE).toContain(flag);
  });
});

describe('peer and client timing options', () => {
  it('take seconds, decimals allowed, and set the options they name', () => {
    const { config } = run([
      '--peer-sync-timeout',
      '90',
      '--peer-backoff',
      '0.25',
      '--ahead-sync-interval',
      '2',
      '--mined-answer',
      '0.5',
      '--body-timeout',
      '3',
      '--max-event-clients',
      '8',
    ]);
    expect(config).toMatchObject({
      peerSyncTimeoutMs: 90_000,
      peerBackoffMs: 250,
      aheadSyncIntervalMs: 2_000,
      minedAnswerMs: 500,
      bodyTimeoutMs: 3_000,
      maxEventClients: 8,
    });
  });

  it('0 turns the back-off, the ahead-sync limit and the wait for a turn off', () => {
    expect(run(['--peer-backoff', '0', '--ahead-sync-interval', '0', '--mined-answer', '0']).config).toMatchObject({
      peerBackoffMs: 0,
      aheadSyncIntervalMs: 0,
      minedAnswerMs: 0,
    });
  });

  it.each([
    ['--peer-sync-timeout', '0'],
    ['--body-timeout', '0'],
    ['--peer-backoff', '-1'],
    ['--mined-answer', 'soon'],
    ['--ahead-sync-interval', '1.2345'],
    ['--max-event-clients', '0'],
    ['--body-timeout', '2000000'],
  ])('%s %s is refused with one line naming the flag', (flag, value) => {
    const err = errorOf([flag, value]);
    expect(err.code).toBe(ErrorCode.BAD_OPTION);
    expect(err.message).toMatch(new RegExp(`^${flag} `));
    expect(err.message).not.toContain('\n');
    expect(USAGE).toContain(flag);
  });
});
