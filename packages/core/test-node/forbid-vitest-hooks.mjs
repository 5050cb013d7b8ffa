/** Module resolution hook: vitest and its packages cannot be resolved. */
export async function resolve(specifier, context, nextResolve) {
  if (specifier === 'vitest' || specifier.startsWith('vitest/') || specifier.startsWith('@vitest/')) {
    throw new Error(`'${specifier}' was imported, but @cloudbus/core/testing must load without vitest`);
  }
  return nextResolve(specifier, context);
}
