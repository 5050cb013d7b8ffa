import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';

import { InspectorBackend, type PasswordSource } from '../backend/inspector-backend.js';
import type { ConnectionProfile } from '../shared/connection-profile.js';
import { InspectorWebServer } from '../web/web-server.js';

/** Debian's Chromium, driven by playwright-core. */
export const CHROMIUM = '/usr/bin/chromium';

/** True when headless end-to-end tests can run here. */
export const canRunBrowser = existsSync(CHROMIUM);

/** A running inspector in web mode, and a headless Chromium page on it. */
export interface InspectorHarness {
  readonly backend: InspectorBackend;
  readonly server: InspectorWebServer;
  readonly page: Page;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Builds the renderer into a directory of its own (test files run in parallel), starts the
 * backend and the web server on a free loopback port with `profiles` opened, and opens the UI in
 * headless Chromium. End-to-end cases (this package's own shop, the pizzeria) start from here.
 */
export async function startInspector(
  profiles: readonly ConnectionProfile[],
  options: {
    capacity?: number;
    tickMs?: number;
    /** Where passwords come from. @default the environment */
    passwords?: PasswordSource;
    /** False: profiles that fail to open are left failed (redaction tests). @default true */
    expectOpen?: boolean;
    /** Runs before the page loads (routes, listeners). */
    beforeLoad?: (page: Page) => Promise<void>;
  } = {},
): Promise<InspectorHarness> {
  const outDir = mkdtempSync(join(tmpdir(), 'inspector-renderer-'));
  await build({
    configFile: fileURLToPath(new URL('../../vite.config.ts', import.meta.url)),
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  const backend = new InspectorBackend({ profiles, capacity: options.capacity, tickMs: options.tickMs, passwords: options.passwords });
  backend.start();
  for (const profile of profiles) {
    const status = await backend.open(profile.id);
    if (status.state !== 'open' && options.expectOpen !== false) throw new Error(`Profile ${profile.id} did not open: ${status.error ?? status.state}`);
  }
  const server = new InspectorWebServer({ backend, staticDir: outDir, port: 0 });
  const url = await server.start();
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    const page = await browser.newPage({ viewport: { width: 1500, height: 900 } });
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    await options.beforeLoad?.(page);
    await page.goto(url);
    const opened = browser;
    return {
      backend,
      server,
      page,
      url,
      close: async () => {
        await opened.close();
        await server.close();
        await backend.close();
        rmSync(outDir, { recursive: true, force: true });
        if (problems.length > 0) throw new Error(`The page reported errors:\n${problems.join('\n')}`);
      },
    };
  } catch (error) {
    await browser?.close();
    await server.close();
    await backend.close();
    throw error;
  }
}
