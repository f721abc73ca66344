// Every workspace package's package.json lists exactly what its code imports: what the shipped code reaches
// (from the package's exports, bin and bundle entries) is in `dependencies`; what only tests and test helpers
// import is in `devDependencies` or, for the shared test tooling, in the root's. Nothing is declared that no
// file imports (an `@types/x` package counts as used when `x` is).
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

interface Manifest {
  name: string;
  exports?: string | Record<string, string>;
  bin?: string | Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

const readManifest = (dir: string): Manifest => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as Manifest;

function tsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : tsFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

const specifiersCache = new Map<string, string[]>();
/** Every module specifier of a file: static and type imports, re-exports, `import()` and `require()`. */
function specifiers(file: string): string[] {
  let found = specifiersCache.get(file);
  if (found === undefined) {
    found = ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
    specifiersCache.set(file, found);
  }
  return found;
}

const builtins = new Set(builtinModules);
/** The npm package a bare specifier names (`xstate/graph` → `xstate`), or undefined for relative and node: ones. */
function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:')) return undefined;
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
  return builtins.has(name) ? undefined : name;
}

function resolveRelative(from: string, specifier: string): string | undefined {
  const base = resolve(dirname(from), specifier);
  const candidates = [base, base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')];
  return candidates.find((c) => c.endsWith('.ts') && existsSync(c));
}

/** The files the shipped code of a package is made of: everything reachable from its entries by relative imports. */
function reachable(entries: string[]): Set<string> {
  const seen = new Set<string>();
  const queue = [...entries];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const s of specifiers(file)) {
      if (!s.startsWith('.')) continue;
      const target = resolveRelative(file, s);
      if (target !== undefined) queue.push(target);
    }
  }
  return seen;
}

const bundleEntries = [...readFileSync(join(root, 'scripts/build.mjs'), 'utf8').matchAll(/\bin: '([^']+)'/g)].map((m) => join(root, m[1]!));

/** A package's entry files: its `exports`, its `bin` (built from `src/` into `dist/`) and its esbuild entries. */
function entriesOf(dir: string, manifest: Manifest): string[] {
  const values = (v: string | Record<string, string> | undefined): string[] => (v === undefined ? [] : typeof v === 'string' ? [v] : Object.values(v));
  const fromExports = values(manifest.exports).map((p) => join(dir, p));
  const fromBin = values(manifest.bin).map((p) => join(dir, p.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts')));
  const fromBundle = bundleEntries.filter((e) => e.startsWith(`${dir}/`));
  return [...fromExports, ...fromBin, ...fromBundle].filter((f) => existsSync(f));
}

function importsOf(files: Iterable<string>): Set<string> {
  const names = new Set<string>();
  for (const f of files) for (const s of specifiers(f)) {
    const name = packageOf(s);
    if (name !== undefined) names.add(name);
  }
  return names;
}

/** Declared without an import in that package's code; each entry must stay true, or the test fails. */
const KNOWN_UNUSED: Record<string, string[]> = {
  // The bundle leaves the native addon external (scripts/build.mjs); dist/main.js loads it from here.
  'apps/daemon': ['better-sqlite3'],
};

const rootManifest = readManifest(root);
const rootDev = new Set(Object.keys(rootManifest.devDependencies ?? {}));
const packageDirs = ['packages', 'apps'].flatMap((d) =>
  readdirSync(join(root, d))
    .map((name) => join(root, d, name))
    .filter((dir) => existsSync(join(dir, 'package.json'))),
);
const isTypesOf = (types: string, used: Set<string>): boolean => {
  if (!types.startsWith('@types/')) return false;
  const bare = types.slice('@types/'.length);
  const name = bare.includes('__') ? `@${bare.replace('__', '/')}` : bare;
  return used.has(name) || (name === 'node' && used.has('node:'));
};

describe('workspace dependencies', () => {
  it('finds every package and its entries', () => {
    expect(packageDirs.length).toBeGreaterThanOrEqual(8);
    for (const dir of packageDirs) expect(entriesOf(dir, readManifest(dir)), relative(root, dir)).not.toEqual([]);
  });

  describe.each(packageDirs.map((dir) => [relative(root, dir), dir] as const))('%s', (name, dir) => {
    const manifest = readManifest(dir);
    const known = KNOWN_UNUSED[name] ?? [];
    const deps = new Set(Object.keys(manifest.dependencies ?? {}).filter((n) => !known.includes(n)));
    const devDeps = new Set(Object.keys(manifest.devDependencies ?? {}));
    const shipped = reachable(entriesOf(dir, manifest));
    const all = [...tsFiles(join(dir, 'src')), ...tsFiles(join(dir, 'test'))];
    const shippedImports = importsOf(shipped);
    const allImports = importsOf(all);
    allImports.delete(manifest.name);

    it('declares in dependencies what its shipped code imports, and nothing else', () => {
      expect([...shippedImports].sort()).toEqual([...deps].sort());
      for (const n of known) {
        expect(Object.keys(manifest.dependencies ?? {}), `${n} is no longer declared`).toContain(n);
        // Tests may import it (to read what the daemon wrote); the shipped code must not.
        expect(shippedImports.has(n), `${n} is imported now`).toBe(false);
      }
    });

    it('declares what only its tests import in devDependencies or the root devDependencies', () => {
      const undeclared = [...allImports].filter((n) => !deps.has(n) && !known.includes(n) && !devDeps.has(n) && !rootDev.has(n));
      expect(undeclared).toEqual([]);
    });

    it('has no devDependency that nothing imports', () => {
      const unused = [...devDeps].filter((n) => !allImports.has(n) && !isTypesOf(n, allImports) && !deps.has(n));
      expect(unused).toEqual([]);
      const alsoShipped = [...devDeps].filter((n) => shippedImports.has(n));
      expect(alsoShipped, 'imported by shipped code, so it belongs in dependencies').toEqual([]);
    });
  });

  it('has no root devDependency that nothing imports or runs', () => {
    const files = [
      ...packageDirs.flatMap((dir) => [...tsFiles(join(dir, 'src')), ...tsFiles(join(dir, 'test'))]),
      ...tsFiles(join(root, 'bench')),
      ...tsFiles(join(root, 'scripts')),
      join(root, 'vitest.config.ts'),
    ];
    const used = importsOf(files);
    for (const f of readdirSync(join(root, 'scripts')).filter((n) => n.endsWith('.mjs'))) {
      for (const s of specifiers(join(root, 'scripts', f))) {
        const name = packageOf(s);
        if (name !== undefined) used.add(name);
      }
    }
    for (const f of files) if (specifiers(f).some((s) => s.startsWith('node:'))) used.add('node:');
    // Tools run by the root scripts rather than imported.
    const scripts = Object.values((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts).join(' ');
    if (/\btsc\b/.test(scripts)) used.add('typescript');
    if (/\btsx\b/.test(scripts)) used.add('tsx');
    const unused = [...rootDev].filter((n) => !used.has(n) && !isTypesOf(n, used));
    expect(unused).toEqual([]);
  });
});
