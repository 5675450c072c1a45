/**
 * Headless Chromium for the explorer tests, driven by playwright-core with
 * the system's browser (no browser download): CHROMIUM_PATH when set, else
 * the first of the usual names on PATH. Tests that need it are skipped, with
 * the reason in their name, where none is installed.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

export function findChromium(): string | undefined {
  const configured = process.env.CHROMIUM_PATH;
  if (configured) return existsSync(configured) ? configured : undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of NAMES) {
      const path = join(dir, name);
      if (existsSync(path)) return path;
    }
  }
  return undefined;
}

export function launchChromium(executablePath: string): Promise<Browser> {
  // The sandbox needs privileges a container (or root) does not have.
  return chromium.launch({ executablePath, chromiumSandbox: false, args: ['--disable-dev-shm-usage'] });
}

/** Waits until the element's text is `text` (or satisfies it, for a function). */
export async function waitForText(page: Page, selector: string, text: string | RegExp): Promise<void> {
  const source = text instanceof RegExp ? { pattern: text.source, flags: text.flags } : { exact: text };
  await page.waitForFunction(
    ([sel, want]) => {
      // Runs in the page; the tests' own types have no DOM.
      const { document } = globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } };
      const value = document.querySelector(sel)?.textContent;
      if (value === undefined || value === null) return false;
      return 'exact' in want ? value === want.exact : new RegExp(want.pattern, want.flags).test(value);
    },
    [selector, source] as const,
  );
}
