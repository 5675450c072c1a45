// Rewrites the options tables in README.md from the option declarations
// (src/node/flags.ts, src/devnet/options.ts), between their markers; a test
// fails while they differ. Run after `npm run build`.
import { readFileSync, writeFileSync } from 'node:fs';
import { readmeOptionTables, replaceOptionTables } from '../dist/src/readme-options.js';

const path = new URL('../README.md', import.meta.url);
const before = readFileSync(path, 'utf8');
const after = replaceOptionTables(before, readmeOptionTables());
if (after === before) console.log('README.md options tables are current');
else {
  writeFileSync(path, after);
  console.log('README.md options tables rewritten');
}
