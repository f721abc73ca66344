// The GitHub Actions workflows (.github/workflows), checked statically since no runner exists here: parsed as
// YAML, every `run:` command split as the shell would (shell-quote) and held against the repository: scripts
// and paths exist, `pnpm <script>` names a script of the root package.json, programs are ones a runner has,
// actions are pinned to a major version, and the CI test command is the one the README tells people to run.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseShell } from 'shell-quote';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dir = join(root, '.github', 'workflows');

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  'working-directory'?: string;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  permissions?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const files = readdirSync(dir).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'));
const workflows = new Map(files.map((f) => [f, parseYaml(readFileSync(join(dir, f), 'utf8')) as Workflow]));
const rootScripts = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts);

/** Programs a GitHub-hosted Ubuntu runner has once setup-node ran (pnpm is installed by scripts/setup.sh or the step itself). */
const RUNNER_PROGRAMS = new Set(['npm', 'pnpm', 'node', 'test', 'bash']);
/** pnpm's own commands that may appear besides the root package.json's scripts. */
const PNPM_COMMANDS = new Set(['install']);

/** The test command the README's quick start gives for a clone. */
function readmeTestCommand(): string {
  const line = readFileSync(join(root, 'README.md'), 'utf8')
    .split('\n')
    .find((l) => /^scripts\/setup\.sh && pnpm test\b/.test(l));
  expect(line, 'the README quick start has the test command').toBeDefined();
  return line!.replace(/#.*$/, '').trim();
}

/** Simple commands of a `run:` script: words split at &&, ||, ;, | and new lines; ${{ }} and $VARS kept as text. */
function commands(run: string): string[][] {
  const text = run.replace(/\$\{\{[^}]*\}\}/g, 'EXPR');
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    let current: string[] = [];
    for (const token of parseShell(line, (name) => `$${name}`)) {
      if (typeof token === 'string') current.push(token);
      else if ('op' in token && token.op !== 'glob') {
        if (current.length > 0) out.push(current);
        current = [];
      } else if ('pattern' in token) current.push(token.pattern);
    }
    if (current.length > 0) out.push(current);
  }
  return out;
}

function* allSteps(): Generator<[string, string, Step]> {
  for (const [file, wf] of workflows) for (const [job, j] of Object.entries(wf.jobs)) for (const step of j.steps) yield [file, job, step];
}

describe('.github/workflows', () => {
  it('has the CI and the release workflow', () => {
    expect([...workflows.keys()].sort()).toEqual(['ci.yml', 'release.yml']);
  });

  it('runs the README test command in CI on every push and pull request', () => {
    const ci = workflows.get('ci.yml')!;
    expect(Object.keys(ci.on).sort()).toEqual(['pull_request', 'push']);
    const runs = Object.values(ci.jobs).flatMap((j) => j.steps.map((s) => s.run)).filter((r) => r !== undefined);
    expect(runs).toContain(readmeTestCommand());
    expect(ci.permissions).toEqual({ contents: 'read' });
  });

  it('releases on v* tags, after the tests, the image for linux/amd64 and the npm package with provenance', () => {
    const release = workflows.get('release.yml')!;
    expect(release.on).toEqual({ push: { tags: ['v*'] } });
    const { test, image, npm } = release.jobs;
    expect(test!.steps.map((s) => s.run)).toContain(readmeTestCommand());
    expect(image!.needs).toBe('test');
    expect(npm!.needs).toBe('test');

    const build = image!.steps.find((s) => s.uses?.startsWith('docker/build-push-action@'))!;
    expect(image!.steps.some((s) => s.uses?.startsWith('docker/setup-buildx-action@'))).toBe(true);
    expect(build.with).toMatchObject({ context: '.', file: 'docker/Dockerfile', platforms: 'linux/amd64', push: true });
    // The one platform, and the README and the Dockerfile say why.
    expect(readFileSync(join(root, 'README.md'), 'utf8')).toMatch(/amd64 only; signal-cli's libsignal-client jar carries no Linux arm64 library/);
    expect(readFileSync(join(root, 'docker/Dockerfile'), 'utf8')).toMatch(/libsignal-client ships its native library for Linux on x86_64 only/);

    expect(npm!.permissions).toMatchObject({ 'id-token': 'write' });
    const publish = npm!.steps.find((s) => s.run?.startsWith('npm publish'))!;
    expect(publish.run).toBe('npm publish --provenance --access public');
    expect(publish['working-directory']).toBe('npm/signal-broker');
    expect(publish.env).toEqual({ NODE_AUTH_TOKEN: '${{ secrets.NPM_TOKEN }}' });
    // The package's prepack builds what it ships, so publishing takes a fresh bundle.
    const pkg = JSON.parse(readFileSync(join(root, 'npm/signal-broker/package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.prepack).toBe('node ../../scripts/pack-npm.mjs');
  });

  it('pins every action to a major version', () => {
    for (const [file, job, step] of allSteps()) {
      if (step.uses !== undefined) expect(step.uses, `${file} ${job}`).toMatch(/^[\w-]+\/[\w-]+(\/[\w-]+)?@v\d+$/);
    }
  });

  it('names only scripts, paths and programs that exist', () => {
    const checked: string[] = [];
    for (const [file, job, step] of allSteps()) {
      const where = `${file} ${job} ${step.name ?? step.uses ?? step.run}`;
      const cwd = join(root, step['working-directory'] ?? '.');
      expect(existsSync(cwd) && statSync(cwd).isDirectory(), `${where}: working-directory`).toBe(true);
      for (const key of ['file', 'context'] as const) {
        const value = step.with?.[key];
        if (typeof value === 'string') {
          expect(existsSync(join(root, value)), `${where}: ${key} ${value}`).toBe(true);
          checked.push(value);
        }
      }
      for (const [, f] of JSON.stringify(step.with ?? {}).matchAll(/hashFiles\(([^)]*)\)/g)) {
        for (const [, p] of f!.matchAll(/'([^']+)'/g)) {
          expect(existsSync(join(root, p!)), `${where}: hashFiles ${p}`).toBe(true);
          checked.push(p!);
        }
      }
      if (step.run === undefined) continue;
      // Files a `node -p`/`node -e` program reads (require("./…")), wherever the shell quoting puts them.
      for (const [, p] of step.run.matchAll(/require\("(\.[^"]+)"\)/g)) {
        expect(existsSync(join(cwd, p!)), `${where}: ${p}`).toBe(true);
        checked.push(p!);
      }
      for (const words of commands(step.run)) {
        const [program, ...args] = words;
        if (program!.includes('/')) {
          const path = join(cwd, program!);
          expect(existsSync(path) && (statSync(path).mode & 0o111) !== 0, `${where}: ${program} is an executable file`).toBe(true);
          checked.push(program!);
        } else {
          expect(RUNNER_PROGRAMS.has(program!), `${where}: ${program} is a program the runner has`).toBe(true);
        }
        if (program === 'pnpm') {
          const script = args.find((a) => !a.startsWith('-'))!;
          expect(rootScripts.includes(script) || PNPM_COMMANDS.has(script), `${where}: pnpm ${script}`).toBe(true);
          checked.push(`pnpm ${script}`);
        }
        // Paths in arguments: relative, with a slash, not a URL or a scoped package.
        for (const arg of args) {
          if (/^\.{0,2}\/?[\w.-]+\/[\w./-]+$/.test(arg) && !arg.includes('://') && !arg.startsWith('@')) {
            expect(existsSync(join(cwd, arg)), `${where}: ${arg}`).toBe(true);
            checked.push(arg);
          }
        }
      }
    }
    // What was checked, so a parser that finds nothing cannot pass.
    expect(checked).toEqual(
      expect.arrayContaining(['scripts/setup.sh', 'pnpm test', 'docker/Dockerfile', './npm/signal-broker/package.json', 'scripts/install-signal-cli.sh', 'pnpm install']),
    );
  });
});
