/**
 * The logger. Modules depend on the small `Logger` interface below, not on
 * pino, so tests can pass `silentLogger` (or a recording fake) and a module
 * can be used without any logging set up. `createLogger` builds the pino
 * logger the CLI uses: one JSON line per event with level and ISO time, or a
 * short human-readable line when `pretty` is set.
 *
 * Field types: a field name has one JSON type in every line that carries it
 * (`height`, `index`, `length` … are numbers; hashes, URLs and nonces, which
 * may exceed 2^53, are strings), so a log collector can index them.
 */
import { pino, stdTimeFunctions, type DestinationStream, type LevelWithSilent } from 'pino';

/** Structured context first, message second, as pino takes them. */
export type LogFn = (obj: Readonly<Record<string, unknown>>, msg: string) => void;

export interface Logger {
  error: LogFn;
  warn: LogFn;
  info: LogFn;
  debug: LogFn;
  /** A logger that adds `bindings` to every line (e.g. `{ module: 'sync' }`). */
  child(bindings: Readonly<Record<string, unknown>>): Logger;
}

export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'silent';

/** Where log lines go: a writable stream, or anything with a `write`. */
export type LogDestination = DestinationStream & {
  on?(event: 'error', listener: (err: Error) => void): unknown;
  isTTY?: boolean;
};

export interface LoggerOptions {
  /** Lowest level written. Default 'info'. */
  level?: LogLevel;
  /** Human-readable lines (`HH:MM:SS.mmm LEVEL msg key=value`) instead of JSON. Default false. */
  pretty?: boolean;
  /**
   * Colour the level of pretty lines. Default: when the destination is a
   * terminal, unless NO_COLOR is set; FORCE_COLOR (not "0") turns it on for a
   * pipe too (devnet sets it for its nodes when it writes to a terminal).
   */
  color?: boolean;
  /** Where lines go. Default stdout. */
  destination?: LogDestination;
  /** Bound to every line, e.g. `{ port: 5000 }`. */
  base?: Readonly<Record<string, unknown>>;
  /**
   * Called once when the destination fails, e.g. EPIPE because the reader of
   * a pipe (`| head`) went away. Logging stops after it; the process goes on.
   * Default: one line on stderr.
   */
  onDestinationError?: (err: Error) => void;
}

export const defaultLoggerOptions = {
  level: 'info',
  pretty: false,
} as const satisfies LoggerOptions;

export function createLogger(options: LoggerOptions = {}): Logger {
  const level: LevelWithSilent = options.level ?? defaultLoggerOptions.level;
  const out = guard(options.destination ?? process.stdout, options.onDestinationError ?? reportDestinationError);
  const color = options.color ?? colorWanted(out.isTTY === true, process.env);
  const destination = options.pretty ? prettyStream(out, color) : out;
  return pino(
    {
      level,
      base: options.base ? { ...options.base } : null,
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** The colour rule of `LoggerOptions.color`, from a TTY flag and the environment. */
export function colorWanted(isTTY: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0';
  return isTTY;
}

function reportDestinationError(err: Error): void {
  const code = (err as { code?: unknown }).code;
  // stderr is often the same closed pipe (`2>&1 | head`); its failure, too,
  // must not end the process, and there is nowhere left to report it.
  process.stderr.on('error', () => {});
  try {
    process.stderr.write(`jbc-ts: log output failed (${typeof code === 'string' ? code : err.message}); logging stopped, the node keeps running\n`);
  } catch {
    // As above.
  }
}

/**
 * A destination that stops writing after its first error instead of letting
 * the stream's 'error' event go unhandled, which would end the process: a
 * node whose log reader went away keeps mining and serving.
 */
function guard(out: LogDestination, onError: (err: Error) => void): LogDestination {
  let failed = false;
  const fail = (err: Error): void => {
    if (failed) return;
    failed = true;
    onError(err);
  };
  out.on?.('error', fail);
  return {
    isTTY: out.isTTY,
    write(line: string): boolean {
      if (failed) return true;
      try {
        return out.write(line) as unknown as boolean;
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
        return true;
      }
    },
  };
}

const noop: LogFn = () => {};

/** Discards everything; the default for modules given no logger, and for tests. */
export const silentLogger: Logger = {
  error: noop,
  warn: noop,
  info: noop,
  debug: noop,
  child: () => silentLogger,
};

const LEVEL_COLOR: Readonly<Record<string, string>> = {
  fatal: '\x1b[41m\x1b[97m',
  error: '\x1b[31m',
  warn: '\x1b[33m',
  info: '\x1b[32m',
  debug: '\x1b[90m',
  trace: '\x1b[90m',
};
const RESET = '\x1b[0m';
const HASH = /^[0-9a-f]{64}$/;

/** A 64-hex hash cut to its first 12 characters: enough to tell blocks apart in a terminal. */
function shorten(value: string): string {
  return HASH.test(value) ? `${value.slice(0, 12)}…` : value;
}

/**
 * A tiny formatter instead of pino-pretty (not a dependency): it reads the
 * JSON line pino writes and prints time, level, message, then the remaining
 * fields as key=value, with 64-hex hashes shortened and an error as its
 * message and code (the JSON format keeps them whole, stack included).
 */
function prettyStream(out: DestinationStream, color: boolean): DestinationStream {
  return {
    write(line: string): void {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const { time, level, msg, ...rest } = record;
      // An error as its message (and code): a terminal reader wants the reason, not pino's object and stack.
      if (typeof rest.err === 'object' && rest.err !== null && typeof (rest.err as { message?: unknown }).message === 'string') {
        const { message, code } = rest.err as { message: string; code?: unknown };
        rest.err = message;
        if (typeof code === 'string' && rest.code === undefined) rest.code = code;
      }
      const clock = typeof time === 'string' ? time.slice(11, 23) : '';
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? shorten(v) : JSON.stringify(v, (_, x: unknown) => (typeof x === 'string' ? shorten(x) : x))}`)
        .join(' ');
      const label = String(level).toUpperCase().padEnd(5);
      const shown = color && LEVEL_COLOR[String(level)] !== undefined ? `${LEVEL_COLOR[String(level)]}${label}${RESET}` : label;
      out.write(`${clock} ${shown} ${String(msg ?? '')}${fields ? ` ${fields}` : ''}\n`);
    },
  };
}
