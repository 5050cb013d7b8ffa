// Electron main process, kept thin: desktop-app.ts does the work (a hardened window, IPC validated
// and handed to the backend).
import { app } from 'electron';

import { startDesktopApp } from './desktop-app.js';

startDesktopApp({ argv: process.argv.slice(2), env: process.env }).catch((error: unknown) => {
  // Start-up errors never quote a URL (the profile parser redacts), so the message is safe to show.
  console.error(`cloudbus inspector could not start: ${error instanceof Error ? error.message : String(error)}`);
  app.exit(1);
});
