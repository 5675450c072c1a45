/**
 * The options of `npm run bench:hostile`. Pure: a bad value is a BAD_OPTION
 * naming the option, which the bench prints on one line before it exits 2.
 */
import { readCommandLine } from '../src/command-line.js';
import { ErrorCode, JbcError } from '../src/errors.js';
import { integerOption, positiveOption } from './args.js';

/** What a hostile peer answers each sync with: [0,0,…], [{},{},…], or copies of a real block. */
export type SyncBody = 'zeros' | 'empties' | 'blocks';
export const SYNC_BODIES: readonly SyncBody[] = ['zeros', 'empties', 'blocks'];

/** The JSON attacks, by the place they aim at: `POST /mined` replies, `POST /data` bodies, `/status` answers. */
export type JsonTarget = 'mined' | 'data' | 'status';
export const JSON_TARGETS: readonly JsonTarget[] = ['mined', 'data', 'status'];

/** `sync`: huge answers to the node's syncs; `json`: number-heavy JSON in the places the JSON limits guard; `all`: both. */
export type HostileAttack = 'sync' | 'json' | 'all';

export interface HostileOptions {
  readonly attack: HostileAttack;
  /** Sync attack: the bodies measured, in table order. */
  readonly bodies: readonly SyncBody[];
  /** Sync attack: the body's size. */
  readonly mib: number;
  /** Sync attack: the peer speaks the jbc-ts API (/status, /blocks) rather than plain jbc (/blockchain.json). */
  readonly api: boolean;
  /** Measuring time per row. */
  readonly seconds: number;
  /** JSON attack: the attacks measured, in table order. */
  readonly targets: readonly JsonTarget[];
  /** JSON attack: the mining node's difficulty, low so that it mines, and so relays, several blocks a second. */
  readonly difficulty: number;
}

export const defaultHostileOptions: HostileOptions = {
  attack: 'all',
  bodies: SYNC_BODIES,
  mib: 64,
  api: false,
  seconds: 10,
  targets: JSON_TARGETS,
  difficulty: 3,
};

export function parseHostileArgs(argv: readonly string[]): HostileOptions {
  const { values } = readCommandLine({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      attack: { type: 'string' },
      mode: { type: 'string' },
      mib: { type: 'string' },
      seconds: { type: 'string' },
      peer: { type: 'string' },
      'json-attack': { type: 'string' },
      difficulty: { type: 'string' },
    },
  });
  const d = defaultHostileOptions;
  return {
    attack: values.attack === undefined ? d.attack : oneOf('--attack', values.attack, ['sync', 'json', 'all'] as const),
    bodies: values.mode === undefined ? d.bodies : [oneOf('--mode', values.mode, SYNC_BODIES)],
    mib: values.mib === undefined ? d.mib : positiveOption('--mib', values.mib, 1024),
    api: (values.peer === undefined ? 'jbc' : oneOf('--peer', values.peer, ['api', 'jbc'] as const)) === 'api',
    seconds: values.seconds === undefined ? d.seconds : positiveOption('--seconds', values.seconds, 3600),
    targets: values['json-attack'] === undefined ? d.targets : [oneOf('--json-attack', values['json-attack'], JSON_TARGETS)],
    difficulty: values.difficulty === undefined ? d.difficulty : integerOption('--difficulty', values.difficulty, 1, 64),
  };
}

function oneOf<T extends string>(flag: string, text: string, choices: readonly T[]): T {
  if (!(choices as readonly string[]).includes(text)) {
    throw new JbcError(ErrorCode.BAD_OPTION, `${flag} must be one of ${choices.join(', ')}, got ${JSON.stringify(text.slice(0, 40))}`, { option: flag });
  }
  return text as T;
}
