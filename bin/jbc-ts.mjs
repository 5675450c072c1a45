#!/usr/bin/env node
// The `jbc-ts` command (`npx jbc-ts`, `npm start`): brings dist/ up to date
// (milliseconds when nothing changed), then runs the node in this process.
import { runBuilt } from '../scripts/build.mjs';

await runBuilt('jbc-ts', 'src/cli.js');
