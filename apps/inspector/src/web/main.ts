#!/usr/bin/env node
// Web mode: `pnpm inspector:web` (or `node dist/web/main.js [--port 5178] [--profiles profiles.json]`).
import { fileURLToPath } from 'node:url';

import { InspectorBackend } from '../backend/inspector-backend.js';
import { loadProfiles } from '../backend/connection-profiles.js';
import { InspectorWebServer } from './web-server.js';

const argv = process.argv.slice(2);
const portFlag = argv.indexOf('--port');
const port = portFlag === -1 ? Number(process.env['CLOUDBUS_INSPECTOR_PORT'] ?? 5178) : Number(argv[portFlag + 1]);
const { profiles, passwords } = loadProfiles(argv, process.env);
const backend = new InspectorBackend({ profiles, passwords });
const server = new InspectorWebServer({ backend, port, staticDir: fileURLToPath(new URL('../renderer/', import.meta.url)) });
backend.start();
const url = await server.start();
for (const profile of profiles) {
  const status = await backend.open(profile.id);
  console.log(`profile ${profile.id} (${profile.broker}): ${status.state}${status.error === undefined ? '' : ` - ${status.error}`}`);
}
if (profiles.length === 0) console.log('No connection profile: give --profiles <file>, --broker <kind> --url <url>, or CLOUDBUS_TRANSPORT + CLOUDBUS_URL.');
console.log(`cloudbus inspector: ${url}`);
console.log('Open this address (it holds the token of this run); keep it to yourself.');

const stop = (): void => {
  void Promise.all([server.close(), backend.close()]).then(() => process.exit(0));
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
