import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEVNET_FLAGS, DEVNET_USAGE, parseDevnetArgs } from '../../../src/devnet/options.js';
import { ErrorCode } from '../../../src/errors.js';
import { parseCommandLine, USAGE } from '../../../src/node/args.js';
import { NODE_FLAGS } from '../../../src/node/flags.js';
import { resolveNodeConfig } from '../../../src/node/options.js';
import { optionSyntax, shownDefault, valueProblem, type OptionSpec } from '../../../src/option-table.js';
import { optionTablesIn, readmeOptionTables } from '../../../src/readme-options.js';
import { packageRoot } from '../../../src/paths.js';
import { thrown } from '../../helpers/thrown.js';

const env = { cpus: 2, cwd: '/srv/jbc' };

/** A value one past the option's range, as typed; undefined when the option has no range. */
function outOfRange(spec: OptionSpec): string | undefined {
  const type = spec.type;
  if (type.kind === 'integer') return String(type.max + 1);
  if (type.kind === 'seconds') return String(Math.floor((type.maxMs ?? 2 ** 31 - 1) / 1000) + 1);
  if (type.kind === 'choice') return 'none-of-these';
  return undefined;
}

describe('the options tables', () => {
  it('are what the README shows, row for row (scripts/options-table.mjs rewrites them)', () => {
    const readme = readFileSync(`${packageRoot()}/README.md`, 'utf8');
    expect(optionTablesIn(readme)).toEqual(readmeOptionTables());
  });

  it.each([
    ['node', NODE_FLAGS, USAGE],
    ['devnet', DEVNET_FLAGS, DEVNET_USAGE],
  ] as const)('drive the %s --help: every option with its default', (_, table, usage) => {
    for (const spec of table) {
      expect(usage).toContain(optionSyntax(spec));
      const shown = shownDefault(spec);
      if (shown !== undefined) expect(usage.replace(/\s+/g, ' ')).toContain(`(default ${shown.replace(/`/g, '')})`);
    }
  });

  it.each(NODE_FLAGS.filter((spec) => outOfRange(spec) !== undefined).map((spec) => [spec.flag, spec] as const))(
    'drive the node parser: --%s refuses a value past its range, naming itself',
    (flag, spec) => {
      const err = thrown(() => parseCommandLine([`--${flag}`, outOfRange(spec)!], env));
      expect(err).toMatchObject({ code: ErrorCode.BAD_OPTION, data: { option: `--${flag}` } });
    },
  );

  it.each(DEVNET_FLAGS.filter((spec) => outOfRange(spec) !== undefined).map((spec) => [spec.flag, spec] as const))(
    'drive the devnet parser: --%s refuses a value past its range',
    (flag, spec) => {
      expect(thrown(() => parseDevnetArgs([`--${flag}`, outOfRange(spec)!])).data.option).toBe(`--${flag}`);
    },
  );

  it("drive the config check: a config object gets the command line's ranges, in its own units", () => {
    for (const spec of NODE_FLAGS) {
      const type = spec.type;
      if (type.kind !== 'integer' && type.kind !== 'seconds') continue;
      const max = type.kind === 'integer' ? type.max * (type.scale ?? 1) : (type.maxMs ?? 2 ** 31 - 1);
      expect(valueProblem(spec, max)).toBeUndefined();
      const err = thrown(() => resolveNodeConfig({ [spec.key]: max + 1 }));
      expect(err).toMatchObject({ code: ErrorCode.BAD_OPTION, data: { option: spec.key } });
    }
  });

  it('give the defaults the config uses', () => {
    const config = resolveNodeConfig({});
    for (const spec of NODE_FLAGS) {
      if (spec.default !== undefined && spec.key in config) expect(config[spec.key as keyof typeof config]).toEqual(spec.default);
    }
  });
});
