/**
 * The client's command line: its commands and options, declared once like
 * the node's (option-table.ts), so the parser and `jbc-ts help` agree.
 */
import { MAX_BLOCKS_PER_PAGE } from '../pages.js';
import { integer, on, optionsHelp, seconds, text, type OptionSpec } from '../option-table.js';

export const DEFAULT_NODE = 'http://localhost:5000/';

export const CLIENT_FLAGS: readonly OptionSpec[] = [
  { flag: 'node', key: 'node', type: text(true), placeholder: 'URL', default: DEFAULT_NODE, help: 'the node to talk to (`JBC_NODE`)' },
  { flag: 'json', key: 'json', type: on(), help: "print the node's answer as JSON (checked, integers exact) instead of text", commandLineOnly: true },
  {
    flag: 'timeout',
    key: 'timeoutMs',
    type: seconds(),
    placeholder: 'S',
    default: 30_000,
    help: 'seconds to wait for the whole answer; `mine` waits for its blocks within it',
    commandLineOnly: true,
  },
  {
    flag: 'admin-token',
    key: 'adminToken',
    type: text(true),
    placeholder: 'T',
    defaultText: 'none',
    help: "the node's `--admin-token`, for `mine` (`JBC_ADMIN_TOKEN`)",
  },
  {
    flag: 'from',
    key: 'from',
    type: integer(0, Number.MAX_SAFE_INTEGER),
    placeholder: 'N',
    defaultText: 'the last blocks',
    help: '`blocks`: the first index',
    commandLineOnly: true,
  },
  {
    flag: 'limit',
    key: 'limit',
    type: integer(1, MAX_BLOCKS_PER_PAGE),
    placeholder: 'M',
    default: 10,
    help: '`blocks`, `pending`: how many',
    commandLineOnly: true,
  },
  { flag: 'file', key: 'file', type: text(true), placeholder: 'F', help: "`submit`: the entry is this file's text", commandLineOnly: true },
  { flag: 'help', key: 'help', short: 'h', type: on(), help: 'print this usage and exit 0', commandLineOnly: true },
];

/** Each command, the words it takes, the options beyond --node/--json/--timeout/--admin-token it takes, and what it does. */
export const COMMANDS = {
  status: { args: '', options: [], help: "the node's height, tip, difficulty, peers, mining and sync" },
  block: { args: 'N|HASH', options: [], help: 'one block, by index or hash, checked (hash, work) and its entries decoded' },
  blocks: {
    args: '[--from N] [--limit M]',
    options: ['from', 'limit'],
    help: 'a range of blocks (default the last 10), checked block by block and link by link',
  },
  submit: { args: 'TEXT | --file F', options: ['file'], help: 'queue a data entry (TEXT, or --file F); prints its id' },
  data: { args: 'ID', options: [], help: "an entry's state: pending, or the block that holds it and its confirmations" },
  pending: { args: '[--limit M]', options: ['limit'], help: 'the entries waiting for a block, oldest first' },
  peers: { args: '[add|remove URL]', options: [], help: 'the peers and their state; add or remove one' },
  mine: { args: 'N', options: [], help: 'mine N blocks now (on or off) and print them once stored (a control route)' },
  help: { args: '', options: [], help: 'print this usage' },
} as const;

export type CommandName = keyof typeof COMMANDS;

export function isCommand(word: string | undefined): word is CommandName {
  return word !== undefined && Object.hasOwn(COMMANDS, word);
}

/** The options every command takes. */
export const COMMON_OPTIONS = ['node', 'json', 'timeoutMs', 'adminToken', 'help'];

/** `head`, then `help` wrapped to 80 columns from column 24. */
function wrap(head: string, help: string): string {
  const indent = 24;
  const lines: string[] = [];
  let line = head.length < indent - 1 ? head.padEnd(indent) : `${head}\n${' '.repeat(indent)}`;
  let width = line.length - line.lastIndexOf('\n') - 1;
  for (const word of help.replace(/`/g, '').split(' ')) {
    if (width > indent && width + 1 + word.length > 80) {
      lines.push(line);
      line = ' '.repeat(indent) + word;
      width = line.length;
    } else {
      line += (width > indent ? ' ' : '') + word;
      width += (width > indent ? 1 : 0) + word.length;
    }
  }
  lines.push(line);
  return lines.join('\n');
}

export const CLIENT_USAGE = `Usage: jbc-ts COMMAND [ARGS] [options]    (or: npm start -s -- COMMAND …)

Talks to a running node. Without a command, jbc-ts starts a node
(jbc-ts --help for its options).

Commands:
${Object.entries(COMMANDS)
  .map(([name, command]) => wrap(`  ${name}${command.args ? ` ${command.args}` : ''}`, command.help))
  .join('\n')}

Options:
${optionsHelp(CLIENT_FLAGS)}

JBC_NODE and JBC_ADMIN_TOKEN stand in for --node and --admin-token; a flag wins.

Exit status: 0 done; 1 the node answered with an error (no such block,
refused, 403); 2 a bad command line; 3 the node could not be reached or did
not answer in time; 4 its answer failed the checks (not JSON, a block whose
hash or work is wrong, blocks that do not link).
`;
