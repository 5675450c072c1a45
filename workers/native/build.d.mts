/** Types of build.mjs, for the tests that import it. */
export interface NativeBuildResult {
  readonly built: boolean;
  readonly ok: boolean;
  readonly reason?: string;
}
export function buildNative(options?: { force?: boolean; onBuild?: () => void; outDir?: string; env?: NodeJS.ProcessEnv }): NativeBuildResult;
export function nodeIncludeDir(): string | undefined;
