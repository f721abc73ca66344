// deploy/signal-broker.service, checked statically: parsed as systemd reads it (sections, KEY=value, keys that
// repeat), then held against the repository: the program it starts is the npm package's bin in a standard
// bin directory, the commands it runs exist, every variable it sets is one the daemon knows, the stop timeout
// outlasts the daemon's own, and the sandbox is there without what would break the JVM. Where
// systemd-analyze exists, `systemd-analyze verify` checks it too.
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from '../src/config.ts';
import { daemonPath } from './harness.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const unitPath = join(root, 'deploy', 'signal-broker.service');
const unitText = readFileSync(unitPath, 'utf8');

type Unit = Map<string, Map<string, string[]>>;

/** systemd's unit syntax, as much as this file uses: `[Section]`, `Key=value` (a key may repeat), `#`/`;` comments, `\` continuations. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header !== null) {
      section = new Map();
      unit.set(header[1]!, section);
      continue;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    if (kv === null || section === undefined) throw new Error(`line ${i + 1} is not KEY=value inside a section: ${raw}`);
    section.set(kv[1]!, [...(section.get(kv[1]!) ?? []), kv[2]!.trim()]);
  }
  return unit;
}

const unit = parseUnit(unitText);
const service = unit.get('Service')!;
const one = (key: string): string | undefined => service.get(key)?.at(-1);

/** `Environment=K=V` lines, with %S/%C (the unit's state and cache roots) as systemd expands them for a system service. */
function unitEnvironment(): Record<string, string> {
  const expand = (v: string) => v.replaceAll('%S', '/var/lib').replaceAll('%C', '/var/cache');
  return Object.fromEntries((service.get('Environment') ?? []).map((e) => {
    const m = /^"?([A-Z_][A-Z0-9_]*)=(.*?)"?$/.exec(e);
    if (m === null) throw new Error(`Environment=${e} is not KEY=value`);
    return [m[1]!, expand(m[2]!)];
  }));
}

/** KEY=value lines of an environment file, as systemd's EnvironmentFile= reads them (quotes removed). */
function envFile(path: string): Record<string, string> {
  return Object.fromEntries(
    readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l))
      .map((l) => {
        const at = l.indexOf('=');
        return [l.slice(0, at), l.slice(at + 1).replace(/^"(.*)"$/, '$1')];
      }),
  );
}

/** Not the daemon's settings, but what the unit sets for the processes it starts (see the comments there). */
const PROCESS_VARIABLES = ['HOME', 'XDG_CACHE_HOME'];
const STANDARD_BIN_DIRS = ['/usr/local/bin', '/usr/bin', '/bin'];

describe('deploy/signal-broker.service', () => {
  it('has the sections systemd needs and nothing it would ignore', () => {
    expect([...unit.keys()]).toEqual(['Unit', 'Service', 'Install']);
    expect(unit.get('Install')!.get('WantedBy')).toEqual(['multi-user.target']);
  });

  it('starts the npm package bin from a standard bin directory', () => {
    const [program, ...args] = one('ExecStart')!.split(/\s+/);
    expect(args).toEqual([]);
    expect(isAbsolute(program!)).toBe(true);
    expect(STANDARD_BIN_DIRS).toContain(dirname(program!));
    const manifest = JSON.parse(readFileSync(join(root, 'npm/signal-broker/package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(Object.keys(manifest.bin)).toContain(basename(program!));
  });

  it('reloads with SIGHUP (TLS) and stops with SIGTERM, waiting longer than the daemon does', () => {
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(existsSync('/bin/kill') || existsSync('/usr/bin/kill')).toBe(true);
    expect(one('KillSignal')).toBe('SIGTERM');
    const stopMs = Number(/^(\d+)s?$/.exec(one('TimeoutStopSec')!)![1]) * 1000;
    const env = { ...unitEnvironment(), ...envFile(join(root, 'deploy/signal-broker.env.example')) };
    const daemonMs = loadConfig(env).shutdownTimeoutMs;
    expect(stopMs).toBeGreaterThan(daemonMs);
    // The daemon's exit codes that a restart cannot fix (startup-failure.ts) stop the restarts.
    expect(one('RestartPreventExitStatus')!.split(' ').map(Number).sort()).toEqual([65, 73, 78]);
  });

  it('runs as its own user with a state and a cache directory, where the daemon looks for its data and signal-cli', () => {
    expect(one('DynamicUser')).toBe('yes');
    expect(one('StateDirectory')).toBe('signal-broker');
    expect(one('CacheDirectory')).toBe('signal-broker');
    const config = loadConfig({ ...unitEnvironment(), ...envFile(join(root, 'deploy/signal-broker.env.example')) });
    expect(config.signalCli.configDir).toBe('/var/lib/signal-broker');
    expect(config.dataDir).toBe('/var/lib/signal-broker/signal-broker');
    expect(config.host).toBe('127.0.0.1');
  });

  it('sets only variables the daemon knows, in the unit and in the example environment file', () => {
    const known = new Set([...CONFIG_VARIABLES, ...PROCESS_VARIABLES]);
    expect(Object.keys(unitEnvironment()).filter((k) => !known.has(k))).toEqual([]);
    expect(Object.keys(envFile(join(root, 'deploy/signal-broker.env.example'))).filter((k) => !CONFIG_VARIABLES.includes(k))).toEqual([]);
    // The example file holds a token, so the configuration it makes is valid and has tokens.
    const config = loadConfig({ ...unitEnvironment(), ...envFile(join(root, 'deploy/signal-broker.env.example')) });
    expect(config.auth.tokens.map((t) => t.name)).toEqual(['admin']);
    expect(one('EnvironmentFile')).toBe('-/etc/signal-broker/signal-broker.env');
  });

  it('is sandboxed, without MemoryDenyWriteExecute (the JVM JIT needs memory both written and executed)', () => {
    expect(Object.fromEntries(['ProtectSystem', 'ProtectHome', 'PrivateTmp', 'PrivateDevices', 'NoNewPrivileges', 'ProtectKernelTunables', 'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups', 'RestrictSUIDSGID', 'LockPersonality', 'RestrictNamespaces'].map((k) => [k, one(k)]))).toEqual({
      ProtectSystem: 'strict',
      ProtectHome: 'true',
      PrivateTmp: 'true',
      PrivateDevices: 'true',
      NoNewPrivileges: 'true',
      ProtectKernelTunables: 'true',
      ProtectKernelModules: 'true',
      ProtectKernelLogs: 'true',
      ProtectControlGroups: 'true',
      RestrictSUIDSGID: 'true',
      LockPersonality: 'true',
      RestrictNamespaces: 'true',
    });
    expect(one('RestrictAddressFamilies')).toBe('AF_UNIX AF_INET AF_INET6');
    expect(service.get('SystemCallFilter')).toEqual(['@system-service']);
    expect(one('SystemCallErrorNumber')).toBe('EPERM');
    expect(one('CapabilityBoundingSet')).toBe('');
    expect(service.has('MemoryDenyWriteExecute')).toBe(false);
    expect(service.has('ProcSubset')).toBe(false);
  });

  it.skipIf(!existsSync('/usr/bin/systemd-analyze') && !existsSync('/bin/systemd-analyze'))('passes systemd-analyze verify (ExecStart pointed at the built bundle, which must exist for verify)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-unit-'));
    try {
      const copy = join(dir, 'signal-broker.service');
      cpSync(unitPath, copy);
      writeFileSync(copy, unitText.replace(/^ExecStart=.*$/m, `ExecStart=${process.execPath} ${daemonPath}`));
      const r = await execa('systemd-analyze', ['verify', copy], { reject: false });
      expect(`${r.stdout}${r.stderr}`).toBe('');
      expect(r.exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
