/** The machine a bench ran on, so figures are never quoted without it. */
import { arch, availableParallelism, cpus, loadavg, platform, totalmem } from 'node:os';

/** The 1-minute load average now, rounded to hundredths. */
export function loadNow(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}

export interface MachineInfo {
  readonly cpu: string;
  /** Logical CPUs the process may use. */
  readonly cores: number;
  readonly cpuFlags: readonly string[];
  readonly memoryGiB: number;
  readonly platform: string;
  readonly arch: string;
  readonly node: string;
  readonly v8: string;
  readonly date: string;
  /** 1-minute load average when the bench started: other work on the machine skews the figures. */
  readonly loadAverage: number;
}

export async function describeMachine(): Promise<MachineInfo> {
  const list = cpus();
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    cpuFlags: await interestingCpuFlags(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    platform: platform(),
    arch: arch(),
    node: process.version,
    v8: process.versions.v8,
    date: new Date().toISOString(),
    loadAverage: loadNow(),
  };
}

/** SHA and SIMD extensions from /proc/cpuinfo (Linux); empty elsewhere. */
async function interestingCpuFlags(): Promise<string[]> {
  try {
    const { readFile } = await import('node:fs/promises');
    const info = await readFile('/proc/cpuinfo', 'utf8');
    const flags = new Set(/^flags\s*:\s*(.*)$/m.exec(info)?.[1]?.split(/\s+/) ?? []);
    return ['sse4_1', 'ssse3', 'avx', 'avx2', 'avx512f', 'sha_ni', 'asimd', 'sha2'].filter((f) => flags.has(f));
  } catch {
    return [];
  }
}

export function describeMachineLine(m: MachineInfo): string {
  const flags = m.cpuFlags.length > 0 ? ` [${m.cpuFlags.join(' ')}]` : '';
  return `${m.cpu}${flags}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.platform} ${m.arch}, Node ${m.node} (V8 ${m.v8}), ${m.date}, load average ${m.loadAverage} at start`;
}

/**
 * A warning when other processes compete for the CPU (a 1-minute load
 * average above the number of cores, at the start or the end of the run):
 * the hash rates then come out low and the ratios noisy. Undefined when the
 * machine looked free.
 */
export function loadWarning(cores: number, loads: readonly number[]): string | undefined {
  const worst = Math.max(...loads);
  if (worst <= cores) return undefined;
  return `load average ${worst} on ${cores} cores: other processes compete for the CPU, so rates are low and ratios noisy; rerun on an idle machine before trusting a verdict`;
}
