/**
 * The logger. Modules depend on the small `Logger` interface below, not on
 * pino, so tests can pass `silentLogger` (or a recording fake) and a module
 * can be used without any logging set up. `createLogger` builds the pino
 * logger the CLI uses: one JSON line per event with level and ISO time, or a
 * short human-readable line when `pretty` is set.
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

export interface LoggerOptions {
  /** Lowest level written. Default 'info'. */
  level?: LogLevel;
  /** Human-readable lines (`HH:MM:SS.mmm LEVEL msg key=value`) instead of JSON. Default false. */
  pretty?: boolean;
  /** Where lines go. Default stdout. */
  destination?: DestinationStream;
  /** Bound to every line, e.g. `{ port: 5000 }`. */
  base?: Readonly<Record<string, unknown>>;
}

export const defaultLoggerOptions = {
  level: 'info',
  pretty: false,
} as const satisfies LoggerOptions;

export function createLogger(options: LoggerOptions = {}): Logger {
  const level: LevelWithSilent = options.level ?? defaultLoggerOptions.level;
  const out: DestinationStream = options.destination ?? process.stdout;
  const destination = options.pretty ? prettyStream(out) : out;
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

const noop: LogFn = () => {};

/** Discards everything; the default for modules given no logger, and for tests. */
export const silentLogger: Logger = {
  error: noop,
  warn: noop,
  info: noop,
  debug: noop,
  child: () => silentLogger,
};

/**
 * A tiny formatter instead of pino-pretty (not a dependency): it reads the
 * JSON line pino writes and prints time, level, message, then the remaining
 * fields as key=value.
 */
function prettyStream(out: DestinationStream): DestinationStream {
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
      const clock = typeof time === 'string' ? time.slice(11, 23) : '';
      const fields = Object.entries(rest)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      out.write(`${clock} ${String(level).toUpperCase().padEnd(5)} ${String(msg ?? '')}${fields ? ' ' + fields : ''}\n`);
    },
  };
}
