// The files a user or contributor checks before anything else: the license (the root LICENSE and the field in
// every package.json), the README's quick start and license note, the changelog's form and CONTRIBUTING's
// commands.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string): string => readFileSync(join(root, path), 'utf8');
const manifests = [
  join(root, 'package.json'),
  ...['apps', 'packages', 'npm'].flatMap((d) =>
    readdirSync(join(root, d))
      .map((name) => join(root, d, name, 'package.json'))
      .filter((p) => existsSync(p)),
  ),
];
const publishedVersion = (JSON.parse(read('npm/signal-broker/package.json')) as { version: string }).version;

describe('license', () => {
  it('is MIT, in LICENSE at the root', () => {
    const text = read('LICENSE');
    expect(text.split('\n')[0]).toBe('MIT License');
    expect(text).toMatch(/^Copyright \(c\) \d{4} \S/m);
    expect(text.replace(/\s+/g, ' ')).toContain('Permission is hereby granted, free of charge, to any person obtaining a copy of this software');
  });

  it('is named by every package.json', () => {
    expect(manifests.length).toBeGreaterThanOrEqual(12);
    const named = Object.fromEntries(manifests.map((p) => [relative(root, p), (JSON.parse(readFileSync(p, 'utf8')) as { license?: string }).license]));
    expect(Object.entries(named).filter(([, license]) => license !== 'MIT')).toEqual([]);
  });

  it("is explained in the README, with signal-cli's GPL-3.0 as a separate program", () => {
    const section = read('README.md').split(/^## License$/m)[1];
    expect(section).toBeDefined();
    expect(section).toContain('[MIT License](LICENSE)');
    expect(section).toMatch(/GPL-3\.0/);
    expect(section).toMatch(/separate\s+program/);
  });
});

describe('README quick start', () => {
  const quick = read('README.md').split(/^## Quick start$/m)[1]!.split(/^## /m)[0]!;

  it('leads with npx signal-broker', () => {
    const firstBlock = /```sh\n([\s\S]*?)```/.exec(quick)![1]!;
    expect(firstBlock.split('\n')[0]).toMatch(/^npx signal-broker\s/);
  });

  it('keeps the two commands for a clone, after it', () => {
    const start = quick.indexOf('\nscripts/setup.sh && pnpm start ');
    const test = quick.indexOf('\nscripts/setup.sh && pnpm test ');
    expect(start).toBeGreaterThan(quick.indexOf('npx signal-broker'));
    expect(test).toBeGreaterThan(start);
  });
});

describe('CHANGELOG.md', () => {
  const text = read('CHANGELOG.md');
  const releases = [...text.matchAll(/^## \[([^\]]+)\](?: - (\d{4}-\d{2}-\d{2}))?$/gm)].map((m) => ({ version: m[1]!, date: m[2], at: m.index }));

  it('follows Keep a Changelog and states semantic versioning', () => {
    expect(text.split('\n')[0]).toBe('# Changelog');
    expect(text).toContain('https://keepachangelog.com/en/1.1.0/');
    expect(text).toContain('https://semver.org/spec/v2.0.0.html');
    expect(releases[0]).toMatchObject({ version: 'Unreleased', date: undefined });
  });

  it('has an entry for the version the npm package carries, newest first, each release dated', () => {
    const versions = releases.slice(1);
    expect(versions[0]!.version).toBe(publishedVersion);
    for (const r of versions) {
      expect(r.version).toMatch(/^\d+\.\d+\.\d+(-[\w.]+)?$/);
      expect(r.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    }
  });

  it('groups entries under the headings Keep a Changelog defines, each with entries', () => {
    const body = text.slice(releases[1]!.at);
    const groups = [...body.matchAll(/^### (.+)$/gm)].map((m) => m[1]);
    expect(groups.length).toBeGreaterThan(0);
    for (const g of groups) expect(['Added', 'Changed', 'Deprecated', 'Removed', 'Fixed', 'Security']).toContain(g);
    for (const part of body.split(/^### .+$/m).slice(1)) expect(part).toMatch(/^- \S/m);
  });
});

describe('CONTRIBUTING.md', () => {
  const text = read('CONTRIBUTING.md');
  const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts);

  it('covers setting up, testing, benchmarking and proposing a change', () => {
    expect([...text.matchAll(/^## (.+)$/gm)].map((m) => m[1])).toEqual(['Set up', 'Test', 'Benchmark', 'Propose a change']);
  });

  it('names only pnpm scripts and files that exist', () => {
    const named = [...text.matchAll(/\bpnpm ([a-z]+)\b/g)].map((m) => m[1]!);
    expect(named).toEqual(expect.arrayContaining(['test', 'typecheck', 'bench']));
    expect(named.filter((s) => !scripts.includes(s))).toEqual([]);
    const paths = [...text.matchAll(/`((?:scripts|apps|packages|docs|npm|docker|deploy)\/[\w./-]*)`/g), ...text.matchAll(/\]\(([\w./-]+)\)/g)].map((m) => m[1]!);
    expect(paths.length).toBeGreaterThan(5);
    expect(paths.filter((p) => !existsSync(join(root, p)))).toEqual([]);
  });
});
