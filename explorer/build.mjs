// Builds the explorer page into dist/explorer/: the browser TypeScript with its
// own tsconfig (DOM types, no Node), then the static files beside the scripts.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'explorer');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.json')], { stdio: 'inherit' });
mkdirSync(out, { recursive: true });
for (const file of ['index.html', 'style.css']) copyFileSync(join(here, file), join(out, file));
