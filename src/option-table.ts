/**
 * Command-line options declared once: each option's flag, what it takes
 * (type and range), its default and its help text sit in one table, and
 * the parser, the `--help` text, the check of a config object and the
 * README's options table are all made from it, so they cannot drift apart.
 */
import { readCommandLine } from './command-line.js';
import { JsonNumber, isJsonObject, parseJson } from './codec.js';
import { ErrorCode, JbcError } from './errors.js';

/** setTimeout's limit, in ms: the most any duration option can be. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
const MIB = 1024 * 1024;

/** What an option takes on the command line, and the value it gives the config. */
export type OptionType =
  /** An integer from min to max (in the config's unit: with `scale`, the command line's value times it). */
  | { readonly kind: 'integer'; readonly min: number; readonly max: number; readonly scale?: number; readonly unit?: string }
  /** Seconds with up to `decimals` (default 3) decimals on the command line; milliseconds in the config. */
  | { readonly kind: 'seconds'; readonly zero: boolean; readonly maxMs?: number; readonly decimals?: number }
  | { readonly kind: 'string'; readonly nonEmpty?: boolean }
  /** Comma-separated; empty items dropped, so "" is the empty list. */
  | { readonly kind: 'list' }
  | { readonly kind: 'choice'; readonly choices: readonly string[] }
  /** Takes no value; its presence sets `value`. */
  | { readonly kind: 'switch'; readonly value: boolean };

export interface OptionSpec {
  /** As typed, without the dashes: `port` is `--port`. */
  readonly flag: string;
  /** The field of the options object it sets. */
  readonly key: string;
  readonly type: OptionType;
  /** What its value is called in --help (`N`, `S`, `URL,URL`). */
  readonly placeholder?: string;
  readonly short?: string;
  /** The default, in the config's unit; undefined when it has none, or one that `defaultText` describes. */
  readonly default?: unknown;
  /** How --help shows a default the value cannot (`number of CPU cores`); else it is made from `default`. */
  readonly defaultText?: string;
  /** One sentence or a few, without the default. */
  readonly help: string;
  /** Only on the command line: no `JBC_<NAME>` variable, no key in a config file (`--help`, `--version`). */
  readonly commandLineOnly?: boolean;
  /** Not in a config file (`--config` itself), though it may come from its variable. */
  readonly notInFile?: boolean;
}

export const integer = (min: number, max: number, extra: { scale?: number; unit?: string } = {}): OptionType => ({ kind: 'integer', min, max, ...extra });
export const seconds = (zero = false, maxMs = MAX_TIMER_MS, decimals = 3): OptionType => ({ kind: 'seconds', zero, maxMs, decimals });
export const mebibytes = (min: number, max: number): OptionType => integer(min, max, { scale: MIB, unit: 'MiB' });
export const text = (nonEmpty = false): OptionType => ({ kind: 'string', nonEmpty });
export const list = (): OptionType => ({ kind: 'list' });
export const choice = (...choices: string[]): OptionType => ({ kind: 'choice', choices });
export const on = (value = true): OptionType => ({ kind: 'switch', value });

/**
 * The options `argv` gives, by key, in the config's units. Throws
 * BAD_OPTION with one line naming the flag for an unknown option, a
 * missing or malformed value, or one out of range. With `passThrough`,
 * arguments the table does not know are returned as they are instead.
 */
export function parseOptions(
  table: readonly OptionSpec[],
  argv: readonly string[],
  options: { passThrough?: boolean; first?: readonly string[] } = {},
): { values: Record<string, unknown>; rest: string[]; sources: LayeredOptions['sources'] } {
  const known = options.passThrough ? splitKnown(table, argv) : { args: [...argv], rest: [] };
  const parsed = readCommandLine({
    args: known.args,
    strict: true,
    allowPositionals: false,
    options: Object.fromEntries(
      table.map((spec) => [spec.flag, { type: spec.type.kind === 'switch' ? 'boolean' : 'string', ...(spec.short ? { short: spec.short } : {}) }] as const),
    ),
  }).values as Record<string, string | boolean | undefined>;
  // Switches such as --help answer whatever the other options say.
  for (const key of options.first ?? []) {
    const spec = table.find((s) => s.key === key && parsed[s.flag] !== undefined);
    if (spec !== undefined) return { values: { [key]: fromText(spec, true) }, rest: known.rest, sources: {} };
  }
  const values: Record<string, unknown> = {};
  const sources: Record<string, { source: OptionSource; name: string }> = {};
  for (const spec of table) {
    const raw = parsed[spec.flag];
    if (raw === undefined) continue;
    if (spec.key in values && spec.type.kind === 'switch') {
      const other = table.find((s) => s.key === spec.key && s !== spec && parsed[s.flag] !== undefined);
      throw badFlag(spec.flag, `cannot be combined with --${other?.flag}`);
    }
    values[spec.key] = fromText(spec, raw);
    sources[spec.key] = { source: 'flag', name: `--${spec.flag}` };
  }
  return { values, rest: known.rest, sources };
}

/** The arguments the table knows (with their values), and the rest in order. */
function splitKnown(table: readonly OptionSpec[], argv: readonly string[]): { args: string[]; rest: string[] } {
  const args: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const flag = arg.startsWith('--') ? arg.slice(2).split('=')[0] : arg === '-h' ? 'help' : undefined;
    const spec = table.find((s) => s.flag === flag || (arg === `-${s.short}` && s.short !== undefined));
    if (spec === undefined) {
      rest.push(arg);
      continue;
    }
    args.push(arg);
    if (spec.type.kind !== 'switch' && !arg.includes('=') && i + 1 < argv.length) args.push(argv[++i]!);
  }
  return { args, rest };
}

/** Where an option's value came from, in precedence order: a flag beats a variable, which beats the file. */
export type OptionSource = 'flag' | 'env' | 'file';

/** The options each source gave, by key, and where each key's value came from (the source that won). */
export interface LayeredOptions {
  readonly values: Record<string, unknown>;
  /** The source of each key in `values`, with the name to quote in an error (`--port`, `JBC_PORT`, `"port" in node.json`). */
  readonly sources: Record<string, { readonly source: OptionSource; readonly name: string }>;
}

/** `--data-dir` is `JBC_DATA_DIR`. */
export function envName(spec: OptionSpec): string {
  return `JBC_${spec.flag.toUpperCase().replace(/-/g, '_')}`;
}

/** A switch's value as a variable gives it: `1`/`true`/`yes` is the flag given, `0`/`false`/`no` its opposite. */
const ENV_TRUE = ['1', 'true', 'yes'];
const ENV_FALSE = ['0', 'false', 'no'];

/**
 * The options the `JBC_<NAME>` variables of `env` give, by key, checked as
 * the flags are; BAD_OPTION naming the variable for a bad value, or for two
 * variables that set one switch both ways.
 */
export function optionsFromEnv(table: readonly OptionSpec[], env: Readonly<Record<string, string | undefined>>): LayeredOptions {
  const values: Record<string, unknown> = {};
  const sources: Record<string, { source: OptionSource; name: string }> = {};
  for (const spec of table) {
    if (spec.commandLineOnly) continue;
    const name = envName(spec);
    const raw = env[name];
    if (raw === undefined) continue;
    let value: unknown;
    if (spec.type.kind === 'switch') {
      const word = raw.trim().toLowerCase();
      if (!ENV_TRUE.includes(word) && !ENV_FALSE.includes(word)) throw badFlag(name, 'must be true or false (or 1 or 0)', raw);
      value = ENV_TRUE.includes(word) ? spec.type.value : !spec.type.value;
    } else {
      value = fromText(spec, raw, name);
    }
    const earlier = sources[spec.key];
    if (earlier !== undefined && values[spec.key] !== value) throw badFlag(name, `contradicts ${earlier.name}`, raw);
    values[spec.key] = value;
    sources[spec.key] = { source: 'env', name };
  }
  return { values, sources };
}

/**
 * The options of a config file's JSON `text`: one object whose keys are the
 * flags' names without dashes (`{"port": 5001, "no-mine": true}`), each
 * value checked as the flag's would be (a number or a string where the
 * flag takes a value, true or false for a switch, a list as an array of
 * strings or one comma-separated string). BAD_OPTION naming the file and the
 * key for anything else, unknown keys included.
 */
export function optionsFromFile(table: readonly OptionSpec[], text: string, file: string): LayeredOptions {
  let parsed: unknown;
  try {
    parsed = parseJson(text, file);
  } catch (err) {
    throw new JbcError(ErrorCode.BAD_OPTION, `--config ${file}: ${err instanceof Error ? firstLine(err.message) : String(err)}`, { option: '--config' });
  }
  if (!isJsonObject(parsed)) throw new JbcError(ErrorCode.BAD_OPTION, `--config ${file}: must hold one JSON object of options`, { option: '--config' });
  const values: Record<string, unknown> = {};
  const sources: Record<string, { source: OptionSource; name: string }> = {};
  for (const [key, raw] of Object.entries(parsed)) {
    const name = `"${key}" in ${file}`;
    const spec = table.find((s) => s.flag === key && !s.commandLineOnly && !s.notInFile);
    if (spec === undefined) {
      throw new JbcError(ErrorCode.BAD_OPTION, `--config ${file}: ${JSON.stringify(key.slice(0, 80))} is not an option (see --help)`, { option: '--config' });
    }
    let value: unknown;
    if (spec.type.kind === 'switch') {
      if (typeof raw !== 'boolean') throw badFlag(name, 'must be true or false');
      value = raw ? spec.type.value : !spec.type.value;
    } else if (raw instanceof JsonNumber) {
      value = fromText(spec, raw.text, name);
    } else if (typeof raw === 'string') {
      value = fromText(spec, raw, name);
    } else if (spec.type.kind === 'list' && Array.isArray(raw) && raw.every((item) => typeof item === 'string')) {
      value = fromText(spec, raw.join(','), name);
    } else {
      throw badFlag(name, spec.type.kind === 'list' ? 'must be an array of strings' : 'must be a number or a string');
    }
    const earlier = sources[spec.key];
    if (earlier !== undefined && values[spec.key] !== value) throw badFlag(name, `contradicts ${earlier.name}`);
    values[spec.key] = value;
    sources[spec.key] = { source: 'file', name };
  }
  return { values, sources };
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? text;
}

/** The sources merged, the later ones winning key by key (pass them file, env, flags). */
export function mergeOptions(...layers: readonly LayeredOptions[]): LayeredOptions {
  const values: Record<string, unknown> = {};
  const sources: Record<string, { source: OptionSource; name: string }> = {};
  for (const layer of layers) {
    Object.assign(values, layer.values);
    Object.assign(sources, layer.sources);
  }
  return { values, sources };
}

function fromText(spec: OptionSpec, raw: string | boolean, name = `--${spec.flag}`): unknown {
  const flag = name;
  const type = spec.type;
  if (type.kind === 'switch') return type.value;
  const value = raw as string;
  switch (type.kind) {
    case 'integer': {
      const n = Number(value);
      if (!/^[0-9]+$/.test(value) || n < type.min || n > type.max) throw badFlag(flag, `must be an integer from ${type.min} to ${type.max}`, value);
      return n * (type.scale ?? 1);
    }
    case 'seconds': {
      const maxSeconds = Math.floor((type.maxMs ?? MAX_TIMER_MS) / 1000);
      const decimals = type.decimals ?? 3;
      const n = Number(value);
      const form = decimals === 0 ? /^[0-9]+$/ : new RegExp(`^[0-9]+(\\.[0-9]{1,${decimals}})?$`);
      if (!form.test(value) || (type.zero ? n < 0 : n <= 0) || n > maxSeconds) {
        const precision = decimals === 0 ? 'whole seconds' : `seconds, up to ${decimals} decimals,`;
        throw badFlag(flag, `must be a number of ${precision} ${type.zero ? 'from 0' : 'above 0'} to ${maxSeconds}`, value);
      }
      return Math.round(n * 1000);
    }
    case 'string':
      if (type.nonEmpty && value === '') throw badFlag(flag, 'must not be empty');
      return value;
    case 'list':
      return value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
    case 'choice':
      if (!type.choices.includes(value)) throw badFlag(flag, `must be one of ${type.choices.join(', ')}`, value);
      return value;
  }
}

/**
 * Why `value`, as a config object holds it (undefined: not given), is not
 * one the option takes; undefined when it is. Ranges are the command
 * line's, in the config's units.
 */
export function valueProblem(spec: OptionSpec, value: unknown): string | undefined {
  const type = spec.type;
  switch (type.kind) {
    case 'integer': {
      const scale = type.scale ?? 1;
      const [min, max] = [type.min * scale, type.max * scale];
      return Number.isInteger(value) && (value as number) >= min && (value as number) <= max ? undefined : `must be an integer from ${min} to ${max}`;
    }
    case 'seconds': {
      const min = type.zero ? 0 : 1;
      const max = type.maxMs ?? MAX_TIMER_MS;
      return Number.isInteger(value) && (value as number) >= min && (value as number) <= max ? undefined : `must be an integer from ${min} to ${max} (ms)`;
    }
    case 'string':
      return typeof value === 'string' && !(type.nonEmpty && value === '') ? undefined : type.nonEmpty ? 'must be a non-empty string' : 'must be a string';
    case 'list':
      return Array.isArray(value) && value.every((item) => typeof item === 'string') ? undefined : 'must be a list of strings';
    case 'choice':
      return type.choices.includes(value as string) ? undefined : `must be one of ${type.choices.join(', ')}`;
    case 'switch':
      return typeof value === 'boolean' ? undefined : 'must be true or false';
  }
}

/** The default as --help and the README show it, in the command line's units; undefined when there is none to show. */
export function shownDefault(spec: OptionSpec): string | undefined {
  if (spec.defaultText !== undefined) return spec.defaultText;
  const value = spec.default;
  if (value === undefined || spec.type.kind === 'switch') return undefined;
  if (spec.type.kind === 'seconds') return String((value as number) / 1000);
  if (spec.type.kind === 'integer') return String((value as number) / (spec.type.scale ?? 1));
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.join(',');
  return String(value);
}

/** `--port N`, `-h, --help`: how an option is written. */
export function optionSyntax(spec: OptionSpec): string {
  const value = spec.placeholder === undefined ? '' : ` ${spec.placeholder}`;
  return `${spec.short ? `-${spec.short}, ` : ''}--${spec.flag}${value}`;
}

/** Help and default as a terminal shows them: the README's markup taken out. */
function describe(spec: OptionSpec): string {
  const shown = shownDefault(spec);
  const plain = (text: string) => text.replace(/`/g, '');
  return shown === undefined ? plain(spec.help) : `${plain(spec.help)} (default ${plain(shown)})`;
}

/** The options part of --help: each option, then its help and default wrapped to `width` columns. */
export function optionsHelp(table: readonly OptionSpec[], width = 80): string {
  const indent = 22;
  return table
    .map((spec) => {
      const syntax = `  ${optionSyntax(spec)}`;
      const words = describe(spec).split(' ');
      const lines: string[] = [];
      let line = syntax.length < indent - 1 ? syntax.padEnd(indent) : `${syntax}\n${' '.repeat(indent)}`;
      let used = line.length - line.lastIndexOf('\n') - 1;
      let first = true;
      for (const word of words) {
        if (!first && used + 1 + word.length > width) {
          lines.push(line);
          line = ' '.repeat(indent) + word;
          used = line.length;
        } else {
          line += (first ? '' : ' ') + word;
          used += (first ? 0 : 1) + word.length;
        }
        first = false;
      }
      lines.push(line);
      return lines.join('\n');
    })
    .join('\n');
}

/** The README's options table of `table`: option, default, meaning. */
export function optionsMarkdown(table: readonly OptionSpec[], title = 'option'): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const rows = table.map((spec) => {
    const syntax = `${spec.short ? `\`-${spec.short}\`, ` : ''}\`--${spec.flag}${spec.placeholder === undefined ? '' : ` ${spec.placeholder}`}\``;
    const shown = shownDefault(spec);
    const value = shown === undefined ? '' : spec.defaultText === undefined ? `\`${shown}\`` : shown;
    return `| ${syntax} |${value === '' ? ' ' : ` ${cell(value)} `}| ${cell(spec.help)} |`;
  });
  return [`| ${title} | default | meaning |`, '|---|---|---|', ...rows].join('\n');
}

export function badFlag(flag: string, reason: string, value?: string): JbcError {
  const shown = value === undefined ? '' : `, got ${JSON.stringify(value.slice(0, 80))}`;
  return new JbcError(ErrorCode.BAD_OPTION, `${flag} ${reason}${shown}`, { option: flag });
}
