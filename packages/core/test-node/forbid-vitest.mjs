// Loaded with `node --import`: makes any import of vitest fail, so the harness test below proves
// that `@cloudbus/core/testing` loads without it.
import { register } from 'node:module';

register('./forbid-vitest-hooks.mjs', import.meta.url);
