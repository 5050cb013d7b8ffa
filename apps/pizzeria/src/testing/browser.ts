import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

import { chromium, type Browser, type Page } from 'playwright-core';

/** Debian's Chromium, driven by playwright-core (no browser download). */
export const CHROMIUM = '/usr/bin/chromium';

/** True when headless browser tests can run here. */
export const canRunBrowser = existsSync(CHROMIUM);

/** Builds the web page's script (incremental: quick when up to date), so a test never serves a stale one. */
export function buildWebPage(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  execFileSync(process.execPath, [tsc, '-b', fileURLToPath(new URL('../../web/tsconfig.json', import.meta.url))], { stdio: 'pipe' });
}

/** A headless Chromium whose pages fail the test (on close) when they report an error. */
export interface TestBrowser {
  open(url: string, viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  const problems: string[] = [];
  return {
    async open(url, viewport = { width: 1360, height: 900 }) {
      const page = await browser.newPage({ viewport });
      page.on('pageerror', (error) => problems.push(error.message));
      page.on('console', (message) => {
        // A 400 the page shows next to a field is expected; Chromium logs each failed fetch too.
        if (message.type() === 'error' && !message.text().includes('status of 400')) problems.push(message.text());
      });
      await page.goto(url);
      return page;
    },
    async close() {
      await browser.close();
      if (problems.length > 0) throw new Error(`The page reported errors:\n${problems.join('\n')}`);
    },
  };
}
