/**
 * The README's options tables, made from the option declarations: each sits
 * between `<!-- options:NAME -->` and `<!-- /options -->`, so a test can
 * check them and `scripts/options-table.mjs` rewrite them.
 */
import { DEVNET_FLAGS } from './devnet/index.js';
import { NODE_FLAGS } from './node/index.js';
import { optionsMarkdown } from './option-table.js';

/** Each table's marker name and its markdown. */
export function readmeOptionTables(): Record<string, string> {
  return { node: optionsMarkdown(NODE_FLAGS), devnet: optionsMarkdown(DEVNET_FLAGS, 'devnet option') };
}

const BLOCK = /(<!-- options:([a-z]+) -->\n)[\s\S]*?(\n<!-- \/options -->)/g;

/** The tables `text` holds, by marker name. */
export function optionTablesIn(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(BLOCK)].map((m) => [m[2]!, m[0].slice(m[1]!.length, m[0].length - m[3]!.length)]));
}

/** `text` with each marked table replaced by the one of its name. */
export function replaceOptionTables(text: string, tables: Record<string, string>): string {
  return text.replace(BLOCK, (whole, open: string, name: string, close: string) => (tables[name] === undefined ? whole : `${open}${tables[name]}${close}`));
}
