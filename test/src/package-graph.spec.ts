import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** The workspace's packages and, for each, the workspace packages it depends on (any kind of dependency). */
function workspaceGraph(): Map<string, string[]> {
  const folders = ['packages', 'apps'].flatMap((parent) => readdirSync(join(root, parent)).map((name) => join(parent, name)));
  const manifests = [...folders, 'test', 'test/support', 'bench'].flatMap((folder) => {
    try {
      return [JSON.parse(readFileSync(join(root, folder, 'package.json'), 'utf8')) as { name: string; dependencies?: object; devDependencies?: object; peerDependencies?: object }];
    } catch {
      return [];
    }
  });
  const names = new Set(manifests.map((m) => m.name));
  return new Map(manifests.map((m) => [m.name, Object.keys({ ...m.dependencies, ...m.devDependencies, ...m.peerDependencies }).filter((d) => names.has(d))]));
}

describe('the workspace', () => {
  it('has no cycle between its packages: each builds and tests on what comes before it', () => {
    const graph = workspaceGraph();
    expect(graph.size).toBeGreaterThan(8);
    const cycles: string[] = [];
    const done = new Set<string>();
    const visit = (name: string, path: string[]): void => {
      if (path.includes(name)) {
        cycles.push([...path.slice(path.indexOf(name)), name].join(' -> '));
        return;
      }
      if (done.has(name)) return;
      for (const dependency of graph.get(name) ?? []) visit(dependency, [...path, name]);
      done.add(name);
    };
    for (const name of graph.keys()) visit(name, []);
    expect(cycles).toEqual([]);
  });
});
