/**
 * `npm run bench`: hash rate of every mining engine at each worker count,
 * through the real pool, plus cancel latency, found-to-handover time, the cost
 * of hashing in cancellable chunks and a native OpenSSL yardstick. A table on
 * stdout, or one JSON object with --json; progress and warnings go to stderr.
 */
import { describeError, isJbcError } from '../src/errors.js';
import { NATIVE_RANGE_SIZE, defaultEngineName, defaultMinerOptions, type EngineName } from '../src/mining/index.js';
import { benchEngine, parseBenchArgs, usage, type BenchOptions } from './args.js';
import { describeMachine, loadNow, loadWarning } from './machine.js';
import { benchHeader, benchPrefix, measureCancelLatency, measureChunkCost, measureHandover, measurePoolRate } from './measure.js';
import { buildKernelSearch, buildNative, runNative, type NativeBuild } from './native.js';
import { renderTable, type BenchReport, type ResultRow } from './report.js';

export const BASELINE: EngineName = 'hash-wasm-baseline';

/**
 * Nonces per call for the sensitivity row of the chunk cost: one call per
 * nonce costs so much (a call and a flag check per hash, and three of the
 * four SIMD lanes idle) that even a busy machine's noise cannot hide it. A
 * 4-nonce chunk costs about 20% on an idle machine, which heavy load can
 * drown.
 */
const SMALL_CHUNK = 1;

async function main(argv: readonly string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(argv);
  } catch (err) {
    process.stderr.write(`bench: ${describeError(err)}\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(usage);
    return 0;
  }
  const progress = (line: string): void => {
    process.stderr.write(`bench: ${line}\n`);
  };

  const machine = await describeMachine();
  const busyAtStart = loadWarning(machine.cores, [machine.loadAverage]);
  if (busyAtStart !== undefined) progress(`warning: ${busyAtStart}`);
  const defaultEngine = defaultEngineName();
  // `native` is measured as the kernel it picks on this CPU.
  const defaultRow = benchEngine(defaultEngine);
  const maxWorkers = Math.max(...options.workers);
  const minWorkers = Math.min(...options.workers);

  const results: ResultRow[] = [];
  for (const engine of options.engines) {
    for (const workers of options.workers) {
      progress(`${engine}, ${workers} worker(s), ${options.seconds} s`);
      try {
        const m = await measurePoolRate(engine, workers, options.seconds);
        results.push({ engine, workers, ...tidy(m), ...(engine === defaultRow ? { default: true as const } : {}) });
      } catch (err) {
        if (!isJbcError(err)) throw err;
        progress(`${engine} unavailable: ${describeError(err)}`);
        results.push({ engine, workers, hashes: 0, seconds: 0, hashesPerSecond: 0, error: describeError(err) });
      }
    }
  }

  const reference: ResultRow[] = [];
  const notes: string[] = [];
  // The native engine's best kernel, or AVX-512 where the CPU has it: the C search the engine is held to.
  const yardstickKernel = defaultRow.startsWith('native-') ? defaultRow.slice('native-'.length) : undefined;
  const yardsticks: Array<{ name: string; build: () => NativeBuild; lead: string[] }> = [
    { name: 'native-openssl', build: buildNative, lead: [] },
    ...(yardstickKernel !== undefined ? [{ name: `c-${yardstickKernel}`, build: buildKernelSearch, lead: [yardstickKernel] }] : []),
  ];
  if (!options.native) notes.push('C yardsticks skipped (--no-native)');
  for (const yardstick of options.native ? yardsticks : []) {
    const built = yardstick.build();
    if (!built.ok) {
      notes.push(`${yardstick.name} reference skipped: ${built.reason}`);
      progress(notes.at(-1)!);
      continue;
    }
    try {
      // --quick: the one-worker row, which the targets compare against.
      for (const workers of options.quick ? [minWorkers] : options.workers) {
        progress(`${yardstick.name} reference, ${workers} process(es), ${options.seconds} s`);
        const run = await runNative(built.binary, benchPrefix(), workers, options.seconds, yardstick.lead);
        reference.push({ engine: yardstick.name, workers, ...tidy({ ...run, hashesPerSecond: run.hashes / run.seconds }), reference: true });
      }
    } finally {
      built.binary.dispose();
    }
  }
  const referenceNote = notes.length > 0 ? notes.join('; ') : undefined;
  for (const row of [...results, ...reference]) {
    const baseline = results.find((r) => r.engine === BASELINE && r.workers === row.workers && r.hashesPerSecond > 0);
    if (baseline !== undefined && row.hashesPerSecond > 0) row.vsBaseline = round(row.hashesPerSecond / baseline.hashesPerSecond, 2);
  }

  // The rest concerns the engine the node mines with.
  const measured = options.engines.includes(defaultRow) ? defaultRow : options.engines[0]!;
  progress(`cancel latency: ${measured}, ${maxWorkers} worker(s), ${options.cancelRounds} cancels`);
  const cancelLatencyMs = await measureCancelLatency(measured, maxWorkers, options.cancelRounds);
  progress(`found -> handover: ${measured}, ${maxWorkers} worker(s), ${options.handoverRounds} blocks`);
  const handover = await measureHandover(measured, maxWorkers, options.handoverRounds, 4);
  progress(`chunked vs one-call kernel: ${measured}, in-thread, ${options.seconds} s`);
  const chunkCost = await measureChunkCost(measured, options.seconds);
  // The same measurement with chunks so small that their calls must show: proof the method can see a cost.
  progress(`chunked vs one-call kernel, ${SMALL_CHUNK}-nonce chunks: ${measured}, in-thread, ${options.seconds / 2} s`);
  const smallChunkCost = await measureChunkCost(measured, options.seconds / 2, SMALL_CHUNK);
  let rangeOverhead: BenchReport['rangeOverhead'] = null;
  if (options.rangeOverhead) {
    const defaultRange = measured.startsWith('native') ? NATIVE_RANGE_SIZE : defaultMinerOptions.rangeSize;
    progress(`range overhead: ${measured}, 1 worker, range 2^${Math.log2(defaultRange)} vs 2^26`);
    const small = await measurePoolRate(measured, 1, options.seconds);
    const big = await measurePoolRate(measured, 1, options.seconds, 2 ** 26);
    rangeOverhead = {
      engine: measured,
      workers: 1,
      rangeSize: defaultRange,
      hashesPerSecond: Math.round(small.hashesPerSecond),
      bigRangeSize: 2 ** 26,
      bigRangeHashesPerSecond: Math.round(big.hashesPerSecond),
      costPercent: round(((big.hashesPerSecond - small.hashesPerSecond) / big.hashesPerSecond) * 100, 1),
    };
  }
  const loadAtEnd = loadNow();
  const busy = loadWarning(machine.cores, [machine.loadAverage, loadAtEnd]);
  if (busy !== undefined && busyAtStart === undefined) progress(`warning: ${busy}`);

  const rate = (engine: string, workers: number): number | undefined =>
    [...results, ...reference].find((r) => r.engine === engine && r.workers === workers && r.hashesPerSecond > 0)?.hashesPerSecond;
  const ratio = (a: number | undefined, b: number | undefined): number | null => (a !== undefined && b !== undefined ? round(a / b, 2) : null);
  const report: BenchReport = {
    machine,
    loadAverageAtEnd: loadAtEnd,
    ...(busy !== undefined ? { loadWarning: busy } : {}),
    quick: options.quick,
    header: benchHeader(),
    seconds: options.seconds,
    defaultEngine: defaultRow,
    results,
    reference,
    ...(referenceNote !== undefined ? { referenceNote } : {}),
    cancelLatencyMs,
    foundToHandoverMs: { ...handover.handover, engine: handover.engine, workers: handover.workers, difficulty: handover.difficulty, mineMs: handover.mineMs },
    chunkCost,
    smallChunkCost,
    rangeOverhead,
    targets: {
      defaultVsBaseline1Worker: { value: ratio(rate(defaultRow, 1), rate(BASELINE, 1)), target: 6 },
      defaultVsNative1Worker: {
        value: ratio(rate(defaultRow, 1), rate('native-openssl', 1)),
        target: 0.5,
      },
      defaultVsCSearch1Worker: {
        yardstick: yardstickKernel !== undefined ? `c-${yardstickKernel}` : null,
        value: yardstickKernel !== undefined ? ratio(rate(defaultRow, 1), rate(`c-${yardstickKernel}`, 1)) : null,
        target: 0.9,
      },
      defaultScaling: {
        workers: [minWorkers, maxWorkers],
        value: maxWorkers > minWorkers ? ratio(rate(defaultRow, maxWorkers), rate(defaultRow, minWorkers)) : null,
        target: 0.95 * (maxWorkers / minWorkers),
      },
      cancelLatencyMaxMs: { value: cancelLatencyMs.maxMs, target: 20 },
      chunkCostPercent: { value: chunkCost.costPercent, target: 1 },
    },
  };
  process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : renderTable(report));
  return 0;
}

function tidy<T extends { seconds: number; hashesPerSecond: number }>(m: T): T {
  return { ...m, seconds: round(m.seconds, 3), hashesPerSecond: Math.round(m.hashesPerSecond) };
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
