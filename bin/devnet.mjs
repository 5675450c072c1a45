#!/usr/bin/env node
// `npm run devnet`: brings dist/ up to date, then runs the devnet in this process.
import { runBuilt } from '../scripts/build.mjs';

await runBuilt('devnet', 'src/devnet/cli.js');
