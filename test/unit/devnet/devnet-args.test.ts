import { describe, expect, it } from 'vitest';
import { isJbcError } from '../../../src/errors.js';
import { parseDevnetArgs, planDevnet, type DevnetOptions } from '../../../src/devnet/options.js';

function options(argv: string[]): DevnetOptions {
  const command = parseDevnetArgs(argv);
  if (command.kind !== 'run') throw new Error('expected run');
  return command.options;
}

/** The value after `flag` in a node's argument list. */
function flagValue(args: readonly string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

describe('devnet options', () => {
  it('default to four nodes on ports 5000-5003 with data dirs under chaindata/devnet/', () => {
    const plan = planDevnet(options([]), '/work');
    expect(plan.map((n) => n.port)).toEqual([5000, 5001, 5002, 5003]);
    expect(plan.map((n) => n.dataDir)).toEqual([
      '/work/chaindata/devnet/5000',
      '/work/chaindata/devnet/5001',
      '/work/chaindata/devnet/5002',
      '/work/chaindata/devnet/5003',
    ]);
    expect(plan.every((n) => flagValue(n.args, '--workers') === '1')).toBe(true);
  });

  it('give every node a target block time of 5 s by default, and pass --target-block-time 0 for the jbc rule', () => {
    expect(planDevnet(options([]), '/w').map((n) => flagValue(n.args, '--target-block-time'))).toEqual(['5', '5', '5', '5']);
    expect(planDevnet(options(['--target-block-time', '2.5']), '/w').every((n) => flagValue(n.args, '--target-block-time') === '2.5')).toBe(true);
    expect(planDevnet(options(['--target-block-time', '0']), '/w').every((n) => flagValue(n.args, '--target-block-time') === '0')).toBe(true);
  });

  it('give each node the others, and only the others, as peers', () => {
    const plan = planDevnet(options(['--nodes', '3', '--base-port=7000']), '/w');
    expect(flagValue(plan[1]!.args, '--peers')).toBe('http://127.0.0.1:7000/,http://127.0.0.1:7002/');
    expect(plan.map((n) => n.url)).toEqual(['http://127.0.0.1:7000/', 'http://127.0.0.1:7001/', 'http://127.0.0.1:7002/']);
  });

  it('make all but the first --miners nodes followers', () => {
    const plan = planDevnet(options(['--nodes', '3', '--miners', '1']), '/w');
    expect(plan.map((n) => n.args.includes('--no-mine'))).toEqual([false, true, true]);
  });

  it('pass difficulty, workers and unknown options to every node, and pretty logs unless a format is given', () => {
    const plan = planDevnet(options(['--difficulty', '3', '--workers', '2', '--log-level', 'debug', '--no-mine']), '/w');
    for (const node of plan) {
      expect(flagValue(node.args, '--difficulty')).toBe('3');
      expect(flagValue(node.args, '--workers')).toBe('2');
      expect(flagValue(node.args, '--log-level')).toBe('debug');
      expect(flagValue(node.args, '--log-format')).toBe('pretty');
      expect(node.args).toContain('--no-mine');
    }
    const json = planDevnet(options(['--log-format', 'json']), '/w');
    expect(json[0]!.args.filter((a) => a === '--log-format')).toHaveLength(1);
    expect(flagValue(json[0]!.args, '--log-format')).toBe('json');
  });

  it('reach nodes listening on every interface over loopback', () => {
    const plan = planDevnet(options(['--nodes', '2', '--host', '0.0.0.0']), '/w');
    expect(flagValue(plan[0]!.args, '--host')).toBe('0.0.0.0');
    expect(flagValue(plan[0]!.args, '--peers')).toBe('http://127.0.0.1:5001/');
  });

  it.each([
    [['--port', '5000'], '--port'],
    [['--peers', 'http://x/'], '--peers'],
    [['--data-dir=x'], '--data-dir'],
    [['--nodes', '0'], '--nodes'],
    [['--nodes', 'many'], '--nodes'],
    [['--base-port', '65535', '--nodes', '2'], '--base-port'],
    [['--miners', '5', '--nodes', '4'], '--miners'],
    [['--workers'], '--workers'],
  ])('refuse %j naming %s', (argv, flag) => {
    let thrown: unknown;
    try {
      parseDevnetArgs(argv);
    } catch (err) {
      thrown = err;
    }
    expect(isJbcError(thrown)).toBe(true);
    expect((thrown as Error).message.startsWith(flag)).toBe(true);
  });

  it('answer --help', () => {
    expect(parseDevnetArgs(['--nodes', '2', '--help']).kind).toBe('help');
  });
});
