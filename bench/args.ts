/**
 * Command-line options of `npm run bench`. A bad value is a BAD_OPTION naming
 * the option; bench.ts prints it on one line and exits 2. The other benches
 * read theirs with `parseArgsOrExit`.
 */
import { availableParallelism } from 'node:os';
import type { parseArgs, ParseArgsConfig } from 'node:util';
import { readCommandLine } from '../src/command-line.js';
import { ErrorCode, JbcError } from '../src/errors.js';
import { ENGINE_NAMES, availableEngineNames, defaultEngineName, type EngineName } from '../src/mining/index.js';

export interface BenchOptions {
  /**
   * Engines to measure, in table order. Default: every engine this machine
   * runs, each native kernel on its own (--quick: the default engine,
   * wasm-simd and the baseline).
   */
  readonly engines: readonly EngineName[];
  /** Worker counts to measure each engine at. Default 1 .. cores. */
  readonly workers: readonly number[];
  /** Seconds of hashing per measurement. Default 5 (--quick: 1). */
  readonly seconds: number;
  /** Print one JSON object instead of the table. */
  readonly json: boolean;
  /** Measure the native OpenSSL reference row. Default true; --no-native turns it off. */
  readonly native: boolean;
  /** Fewer, shorter measurements: the default engine and the baseline, 1 s each, no range-size row. */
  readonly quick: boolean;
  /** Cancels timed for the cancel latency. Default 20 (--quick: 10). */
  readonly cancelRounds: number;
  /** Blocks mined for the found-to-handover time. Default 20 (--quick: 10). */
  readonly handoverRounds: number;
  /** Measure the range-size overhead (2^20 vs 2^26 nonces per task). Default true (--quick: false). */
  readonly rangeOverhead: boolean;
  readonly help: boolean;
}

export const usage = `usage: npm run bench -- [options]

Measures the hash rate of each mining engine through the real worker pool,
plus cancel latency, found-to-handover time, the cost of hashing in
cancellable chunks and a native OpenSSL yardstick. Table on stdout (or JSON),
progress and warnings on stderr.

  --engines a,b      engines to measure (default: every one this machine runs, each
                     native kernel on its own; known: ${ENGINE_NAMES.join(', ')})
  --workers 1,2      worker counts (default: 1 .. number of cores)
  --seconds S        seconds per measurement (default 5)
  --quick            a quick look (under 30 s on 2 cores): the default engine,
                     wasm-simd and hash-wasm-baseline, 1 s per measurement, 10 cancels and
                     blocks, no range-size row; --engines/--seconds still apply
  --json             print one JSON object instead of the table
  --no-native        skip the C yardsticks (OpenSSL, and the native engine's search
                     as a plain program; they need cc, OpenSSL also libssl-dev)
  --help             print this and exit
`;

export function parseBenchArgs(argv: readonly string[]): BenchOptions {
  const { values } = readCommandLine({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      engines: { type: 'string' },
      workers: { type: 'string' },
      seconds: { type: 'string' },
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'no-native': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const cores = availableParallelism();
  const quick = values.quick;
  const every: EngineName[] = availableEngineNames().filter((name) => name !== 'native');
  const quickEngines: EngineName[] = [...new Set<EngineName>([benchEngine(defaultEngineName()), 'wasm-simd', 'hash-wasm-baseline'])].filter((name) =>
    every.includes(name),
  );
  return {
    engines: values.engines !== undefined ? parseEngines(values.engines) : quick ? quickEngines : every,
    workers: values.workers === undefined ? Array.from({ length: cores }, (_, i) => i + 1) : parseWorkers(values.workers),
    seconds: values.seconds !== undefined ? parseSeconds(values.seconds) : quick ? 1 : 5,
    json: values.json,
    native: !values['no-native'],
    quick,
    cancelRounds: quick ? 10 : 20,
    handoverRounds: quick ? 10 : 20,
    rangeOverhead: !quick,
    help: values.help,
  };
}

/** The row an engine is measured as: `native` as the kernel it picks here, `native-<kernel>`. */
export function benchEngine(engine: EngineName): EngineName {
  if (engine !== 'native') return engine;
  const best = availableEngineNames().find((name) => name.startsWith('native-'));
  return best ?? engine;
}

function parseEngines(text: string): EngineName[] {
  const names = text.split(',').map((s) => s.trim());
  for (const name of names) {
    if (!(ENGINE_NAMES as readonly string[]).includes(name)) {
      throw bad('--engines', `has unknown engine ${JSON.stringify(name)} (known: ${ENGINE_NAMES.join(', ')})`);
    }
  }
  return [...new Set(names)] as EngineName[];
}

function parseWorkers(text: string): number[] {
  const counts = text.split(',').map((s) => s.trim());
  if (counts.some((c) => !/^[1-9][0-9]{0,3}$/.test(c))) throw bad('--workers', 'must be a comma-separated list of positive integers');
  return [...new Set(counts.map(Number))];
}

function parseSeconds(text: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds <= 0 || seconds > 3600) {
    throw bad('--seconds', 'must be a positive number of seconds');
  }
  return seconds;
}

/** An integer option's value from `min` to `max`; BAD_OPTION naming `flag` otherwise. */
export function integerOption(flag: string, text: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || value < min || value > max)
    throw bad(flag, `must be an integer from ${min} to ${max}, got ${JSON.stringify(text.slice(0, 40))}`);
  return value;
}

/** A number option's value above 0 and up to `max`; BAD_OPTION naming `flag` otherwise. */
export function positiveOption(flag: string, text: string, max: number): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value <= 0 || value > max) throw bad(flag, `must be a positive number up to ${max}`);
  return value;
}

/** As positiveOption, and 0 too. */
export function nonNegativeOption(flag: string, text: string, max: number): number {
  return text.trim() === '0' ? 0 : positiveOption(flag, text, max);
}

function bad(option: string, reason: string): JbcError {
  return new JbcError(ErrorCode.BAD_OPTION, `${option} ${reason}`, { option });
}

/** For the other bench scripts: their options, or one line naming the bad one on stderr and exit status 2. */
export function parseArgsOrExit<T extends ParseArgsConfig>(name: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return readCommandLine(config);
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n`);
    process.exit(2);
  }
}
