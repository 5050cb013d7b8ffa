import { fileURLToPath } from 'node:url';

/** Where this package's own code lives (`src/` when run from sources, `dist/` when built). */
const coreRoot = fileURLToPath(new URL('../../', import.meta.url));
const ownCode = [`${coreRoot}src/`, `${coreRoot}dist/`];

/** A frame of cloudbus's own dispatch (bus, runner, middleware) or of Node's internals. */
function isFrameworkFrame(frame: string): boolean {
  if (frame.includes('(node:internal/') || frame.startsWith('at node:internal/')) return true;
  const path = frame.replaceAll('file://', '');
  return ownCode.some((root) => path.includes(root)) && !/\.(spec|test)\.[cm]?[jt]s:/.test(path);
}

/**
 * The `at ...` frames of a stack with cloudbus's own frames and Node's internals left out, so the
 * handler's frames are what a dead letter keeps. A stack with nothing else (an error raised by
 * cloudbus itself, such as invalid input) keeps its frames as they are.
 */
export function handlerFrames(stack: string): string[] {
  const frames = stack
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('at '));
  const own = frames.filter((frame) => !isFrameworkFrame(frame));
  return own.length > 0 ? own : frames;
}
