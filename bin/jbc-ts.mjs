#!/usr/bin/env node
// The `jbc-ts` command (`npx jbc-ts`, `npm start`): brings dist/ up to date
// (milliseconds when nothing changed), then runs the node in this same
// process, so signals sent to this process reach the node itself.
import { build } from '../scripts/build.mjs';

try {
  await build();
} catch (err) {
  process.stderr.write(`jbc-ts: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
await import('../dist/src/cli.js');
