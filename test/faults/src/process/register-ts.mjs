// `node --conditions=@cloudbus/source --import ./register-ts.mjs child.ts`: workspace packages
// resolve to their TypeScript sources (as in vitest), transpiled by ts-hooks.mjs.
import { register } from 'node:module';

register('./ts-hooks.mjs', import.meta.url);
