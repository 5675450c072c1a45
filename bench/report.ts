/** The bench report: its JSON shape and the table printed by default. */
import type { MachineInfo } from './machine.js';
import { describeMachineLine } from './machine.js';
import type { ChunkCost, Summary } from './measure.js';

export interface ResultRow {
  readonly engine: string;
  readonly workers: number;
  readonly hashes: number;
  readonly seconds: number;
  readonly hashesPerSecond: number;
  /** The engine the node mines with. */
  readonly default?: true;
  /** A yardstick, not a mining engine. */
  readonly reference?: true;
  /** hashesPerSecond / hash-wasm-baseline's at the same worker count. */
  vsBaseline?: number;
  /** Why the engine could not be measured. */
  readonly error?: string;
}

interface Target {
  readonly value: number | null;
  readonly target: number;
}

export interface BenchReport {
  readonly machine: MachineInfo;
  /** 1-minute load average when the bench ended (the start's is in `machine`). */
  readonly loadAverageAtEnd: number;
  /** Present when the machine was busy (load above the core count): the figures are then low and noisy. */
  readonly loadWarning?: string;
  /** True for a --quick run. */
  readonly quick: boolean;
  /** The header every measurement hashes: `prefix` + the nonce's decimal digits. */
  readonly header: { readonly prefix: string; readonly prefixBytes: number; readonly nonces: string };
  readonly seconds: number;
  readonly defaultEngine: string;
  readonly results: ResultRow[];
  readonly reference: ResultRow[];
  readonly referenceNote?: string;
  readonly cancelLatencyMs: Summary & { readonly engine: string; readonly workers: number };
  readonly foundToHandoverMs: Summary & { readonly engine: string; readonly workers: number; readonly difficulty: number; readonly mineMs: Summary };
  /** The production search (chunks, stop flag between them) against one kernel call per range. */
  readonly chunkCost: ChunkCost;
  /** The same with tiny chunks: shows that the measurement can see a cost when there is one. */
  readonly smallChunkCost: ChunkCost;
  /** Null when skipped (--quick). */
  readonly rangeOverhead: null | {
    readonly workers: number;
    readonly engine: string;
    readonly rangeSize: number;
    readonly hashesPerSecond: number;
    readonly bigRangeSize: number;
    readonly bigRangeHashesPerSecond: number;
    readonly costPercent: number;
  };
  readonly targets: {
    readonly defaultVsBaseline1Worker: Target;
    /** Against the native OpenSSL yardstick; null when it was skipped. */
    readonly defaultVsNative1Worker: Target;
    /** Against the native engine's own search as a plain C program (`c-<kernel>`); null without a native engine or when skipped. */
    readonly defaultVsCSearch1Worker: Target & { readonly yardstick: string | null };
    readonly defaultScaling: Target & { readonly workers: readonly number[] };
    readonly cancelLatencyMaxMs: Target;
    /** Throughput lost to hashing in cancellable chunks instead of one call, in percent (median of pairs). */
    readonly chunkCostPercent: Target;
  };
}

export function renderTable(r: BenchReport): string {
  const lines: string[] = [];
  lines.push(`jbc-ts hash-rate bench, ${r.seconds} s per row${r.quick ? ' (--quick)' : ''}`);
  lines.push(`machine: ${describeMachineLine(r.machine)}, ${r.loadAverageAtEnd} at end`);
  if (r.loadWarning !== undefined) lines.push(`WARNING: ${r.loadWarning}`);
  lines.push(`header hashed: ${JSON.stringify(r.header.prefix)} (${r.header.prefixBytes} bytes) + nonce, ${r.header.nonces}`);
  lines.push('');
  const header = ['engine', 'workers', 'hashes', 'seconds', 'MH/s', 'vs baseline'];
  const rows = [...r.results, ...r.reference].map((row) => [
    row.engine + (row.default ? ' *' : row.reference ? ' (ref)' : ''),
    String(row.workers),
    row.error !== undefined ? '-' : String(row.hashes),
    row.error !== undefined ? '-' : row.seconds.toFixed(2),
    row.error !== undefined ? 'unavailable' : (row.hashesPerSecond / 1e6).toFixed(3),
    row.vsBaseline !== undefined ? `${row.vsBaseline.toFixed(2)}x` : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const fmt = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  lines.push(fmt(header));
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) lines.push(fmt(row));
  lines.push(`* default engine (the node mines with it); (ref) = yardstick, not a mining engine`);
  if (r.referenceNote !== undefined) lines.push(r.referenceNote);
  const errors = new Map(r.results.filter((row) => row.error !== undefined).map((row) => [row.engine, row.error]));
  for (const [engine, error] of errors) lines.push(`${engine} unavailable: ${error}`);
  lines.push('');

  const t = r.targets;
  const c = r.cancelLatencyMs;
  const h = r.foundToHandoverMs;
  const missed = r.loadWarning !== undefined ? 'BELOW TARGET (machine busy, see WARNING)' : 'BELOW TARGET';
  const verdict = (ok: boolean | null): string => (ok === null ? 'n/a' : ok ? 'ok' : missed);
  lines.push('targets');
  const v1 = t.defaultVsBaseline1Worker.value;
  lines.push(
    `  ${r.defaultEngine} vs ${'hash-wasm-baseline'}, 1 worker: ${v1 === null ? 'n/a' : `${v1.toFixed(2)}x`}` +
      `  (target >= ${t.defaultVsBaseline1Worker.target}x)  ${verdict(v1 === null ? null : v1 >= t.defaultVsBaseline1Worker.target)}`,
  );
  const vn = t.defaultVsNative1Worker.value;
  lines.push(
    `  ${r.defaultEngine} vs native-openssl, 1 worker: ${vn === null ? 'n/a (no native row)' : `${vn.toFixed(2)}x`}` +
      `  (target >= ${t.defaultVsNative1Worker.target}x)  ${verdict(vn === null ? null : vn >= t.defaultVsNative1Worker.target)}`,
  );
  const vc = t.defaultVsCSearch1Worker;
  lines.push(
    `  ${r.defaultEngine} vs ${vc.yardstick ?? 'the C search'}, 1 worker: ${vc.value === null ? 'n/a' : `${vc.value.toFixed(2)}x`}` +
      `  (target >= ${vc.target}x)  ${verdict(vc.value === null ? null : vc.value >= vc.target)}`,
  );
  const s = t.defaultScaling;
  lines.push(
    `  ${r.defaultEngine}, ${s.workers[1]} workers vs ${s.workers[0]}: ${s.value === null ? 'n/a' : `${s.value.toFixed(2)}x`}` +
      `  (target >= ${s.target.toFixed(2)}x)  ${verdict(s.value === null ? null : s.value >= s.target)}`,
  );
  lines.push(
    `  cancel latency (${c.engine}, ${c.workers} workers, ${c.samples} cancels mid-range): median ${c.medianMs} ms, p90 ${c.p90Ms} ms, max ${c.maxMs} ms` +
      `  (target <= ${t.cancelLatencyMaxMs.target} ms)  ${verdict(c.maxMs <= t.cancelLatencyMaxMs.target)}`,
  );
  const cc = r.chunkCost;
  lines.push(
    `  cost of cancellable chunks (${cc.engine}, in-thread, ${cc.chunkSize}-nonce chunks vs one call per 2^${Math.log2(cc.runSize)}-nonce run, ${cc.pairs} interleaved pairs): ` +
      `${(cc.chunkedHps / 1e6).toFixed(3)} vs ${(cc.oneCallHps / 1e6).toFixed(3)} MH/s, cost ${cc.costPercent}% (middle half of pairs ${cc.spreadPercent[0]}% .. ${cc.spreadPercent[1]}%)` +
      `  (target < ${t.chunkCostPercent.target}%)  ${chunkVerdict(cc, t.chunkCostPercent.target, verdict)}`,
  );
  lines.push('');
  lines.push('also measured');
  lines.push(
    `  found -> block handed over (${h.engine}, ${h.workers} workers, ${h.samples} blocks at difficulty ${h.difficulty}): median ${h.medianMs} ms, max ${h.maxMs} ms; whole mine() median ${h.mineMs.medianMs} ms`,
  );
  const sc = r.smallChunkCost;
  lines.push(
    `  sensitivity check, same measurement with ${sc.chunkSize}-nonce chunks: cost ${sc.costPercent}% (middle half ${sc.spreadPercent[0]}% .. ${sc.spreadPercent[1]}%, ${sc.pairs} pairs)`,
  );
  const ro = r.rangeOverhead;
  lines.push(
    ro === null
      ? '  bounded ranges: skipped (--quick)'
      : `  bounded ranges (${ro.engine}, 1 worker): 2^${Math.log2(ro.rangeSize)} nonces ${(ro.hashesPerSecond / 1e6).toFixed(3)} MH/s vs 2^${Math.log2(ro.bigRangeSize)} ${(ro.bigRangeHashesPerSecond / 1e6).toFixed(3)} MH/s: cost ${ro.costPercent}%`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * A chunk-cost verdict that owns up to noise: when the middle half of the
 * pairs lies on both sides of the target, the median alone decides nothing.
 */
function chunkVerdict(cc: ChunkCost, target: number, verdict: (ok: boolean) => string): string {
  const [low, high] = cc.spreadPercent;
  if (low < target && high >= target) return `inconclusive: pairs spread ${low}% .. ${high}%, wider than the target`;
  return verdict(cc.costPercent < target);
}
