/**
 * The explorer page's files, served from the build output (`dist/explorer/`,
 * written by `npm run build` from `explorer/`). Only plain file names are
 * served, so no request reaches outside that folder. The policy header keeps
 * the page to its own scripts: even if a block's text were ever put into the
 * page as HTML, no inline script or handler in it would run.
 */
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { Context } from 'koa';
import { ErrorCode, JbcError } from '../errors.js';
import { distPath } from '../paths.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const FILE_NAME = /^[a-z0-9][a-z0-9-]*\.(?:html|js|css|svg)$/;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

export interface ExplorerFilesOptions {
  /** Folder of the built page. Default `dist/explorer` in the package. */
  readonly dir?: string;
}

/** Serves the page's files; the files are read once and kept (they change only with a rebuild, which restarts the node). */
export class ExplorerFiles {
  readonly #dir: string;
  readonly #cache = new Map<string, Buffer>();

  constructor(options: ExplorerFilesOptions = {}) {
    this.#dir = options.dir ?? distPath('explorer');
  }

  /** Answers with `name` from the page's folder; NOT_FOUND for anything else. */
  async serve(ctx: Context, name: string): Promise<void> {
    if (!FILE_NAME.test(name)) throw new JbcError(ErrorCode.NOT_FOUND, `no explorer file ${JSON.stringify(name.slice(0, 80))}`);
    let body = this.#cache.get(name);
    if (body === undefined) {
      try {
        body = await readFile(join(this.#dir, name));
      } catch {
        const hint = name === 'index.html' ? ' (the explorer is built by npm run build)' : '';
        throw new JbcError(ErrorCode.NOT_FOUND, `no explorer file ${name}${hint}`);
      }
      this.#cache.set(name, body);
    }
    ctx.set(SECURITY_HEADERS);
    // Revalidated on every load, so a rebuilt node never serves a stale page.
    ctx.set('cache-control', 'no-cache');
    ctx.type = TYPES[extname(name)] ?? 'application/octet-stream';
    ctx.body = body;
  }
}
