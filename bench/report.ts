/** The bench report: its JSON shape and the table printed by default. */
import type { MachineInfo } from './machine.js';
import { describeMachineLine } from './machine.js';
import type { Summary } from './measure.js';

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
  readonly seconds: number;
  readonly defaultEngine: string;
  readonly results: ResultRow[];
  readonly reference: ResultRow[];
  readonly referenceNote?: string;
  readonly cancelLatencyMs: Summary & { readonly engine: string; readonly workers: number };
  readonly foundToHandoverMs: Summary & { readonly engine: string; readonly workers: number; readonly difficulty: number; readonly mineMs: Summary };
  readonly stopCheckCost: { readonly engine: string; readonly withStopHps: number; readonly withoutStopHps: number; readonly costPercent: number };
  readonly rangeOverhead: {
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
    readonly defaultScaling: Target & { readonly workers: readonly number[] };
    readonly cancelLatencyMaxMs: Target;
    /** Throughput lost to the stop-flag checks, in percent. */
    readonly stopCheckCostPercent: Target;
  };
}

export function renderTable(r: BenchReport): string {
  const lines: string[] = [];
  lines.push(`jbc-ts hash-rate bench, ${r.seconds} s per row`);
  lines.push(`machine: ${describeMachineLine(r.machine)}`);
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
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
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
  const verdict = (ok: boolean | null): string => (ok === null ? 'n/a' : ok ? 'ok' : 'BELOW TARGET');
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
  const s = t.defaultScaling;
  lines.push(
    `  ${r.defaultEngine}, ${s.workers[1]} workers vs ${s.workers[0]}: ${s.value === null ? 'n/a' : `${s.value.toFixed(2)}x`}` +
      `  (target >= ${s.target.toFixed(2)}x)  ${verdict(s.value === null ? null : s.value >= s.target)}`,
  );
  lines.push(
    `  cancel latency (${c.engine}, ${c.workers} workers, ${c.samples} cancels mid-range): median ${c.medianMs} ms, p90 ${c.p90Ms} ms, max ${c.maxMs} ms` +
      `  (target <= ${t.cancelLatencyMaxMs.target} ms)  ${verdict(c.maxMs <= t.cancelLatencyMaxMs.target)}`,
  );
  const sc = r.stopCheckCost;
  lines.push(
    `  stop-flag checks (${sc.engine}, in-thread): ${(sc.withStopHps / 1e6).toFixed(3)} MH/s with, ${(sc.withoutStopHps / 1e6).toFixed(3)} MH/s without: cost ${sc.costPercent}%` +
      `  (target < ${t.stopCheckCostPercent.target}%)  ${verdict(sc.costPercent < t.stopCheckCostPercent.target)}`,
  );
  lines.push('');
  lines.push('also measured');
  lines.push(
    `  found -> block handed over (${h.engine}, ${h.workers} workers, ${h.samples} blocks at difficulty ${h.difficulty}): median ${h.medianMs} ms, max ${h.maxMs} ms; whole mine() median ${h.mineMs.medianMs} ms`,
  );
  const ro = r.rangeOverhead;
  lines.push(
    `  bounded ranges (${ro.engine}, 1 worker): 2^${Math.log2(ro.rangeSize)} nonces ${(ro.hashesPerSecond / 1e6).toFixed(3)} MH/s vs 2^${Math.log2(ro.bigRangeSize)} ${(ro.bigRangeHashesPerSecond / 1e6).toFixed(3)} MH/s: cost ${ro.costPercent}%`,
  );
  return lines.join('\n') + '\n';
}
