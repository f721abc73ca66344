// Helpers for tests that run the built fake signal-cli: temp config dirs, scenario/control env vars, and
// a registry so every process a test starts is stopped afterwards.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeControl } from './control.ts';
import type { FakeScenario } from './fake/scenario.ts';
import { fakeSignalCliPath } from './index.ts';
import { spawnJsonRpc, type JsonRpcProcess } from './spawn.ts';

export interface StartFakeOptions {
  /** Global options before `jsonRpc` (e.g. `['-a', '+15555550123']`); `--config` is added unless `configDir: null`. */
  globalArgs?: string[];
  /** Options after `jsonRpc` (e.g. `['--receive-mode', 'manual']`). */
  commandArgs?: string[];
  scenario?: FakeScenario;
  /** Create a control socket (FAKE_SIGNAL_CLI_CONTROL) in the temp dir, or use the given path. */
  control?: boolean | string;
  /** Use this config dir instead of a fresh one; `null` = pass no `--config`. */
  configDir?: string | null;
  env?: Record<string, string | undefined>;
}

export interface StartedFake {
  proc: JsonRpcProcess;
  configDir: string | undefined;
  controlPath: string | undefined;
}

const started: JsonRpcProcess[] = [];
const controls: FakeControl[] = [];
const dirs: string[] = [];

/** A fresh temp dir, removed by {@link cleanupFakes}. */
export function tempDir(prefix = 'fake-signal-cli-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

export function startFake(opts: StartFakeOptions = {}): StartedFake {
  if (!existsSync(fakeSignalCliPath)) throw new Error(`${fakeSignalCliPath} is missing: run node scripts/build.mjs`);
  const configDir = opts.configDir === null ? undefined : (opts.configDir ?? tempDir());
  const controlPath = typeof opts.control === 'string' ? opts.control : opts.control ? join(tempDir('fake-ctl-'), 'control.sock') : undefined;
  const args = [...(configDir ? ['--config', configDir] : []), ...(opts.globalArgs ?? []), 'jsonRpc', ...(opts.commandArgs ?? [])];
  const env: Record<string, string | undefined> = { ...opts.env };
  if (opts.scenario) env.FAKE_SIGNAL_CLI_SCENARIO = JSON.stringify(opts.scenario);
  if (controlPath) env.FAKE_SIGNAL_CLI_CONTROL = controlPath;
  const proc = spawnJsonRpc(fakeSignalCliPath, args, { env });
  started.push(proc);
  return { proc, configDir, controlPath };
}

/** Starts a fake with a control socket and connects to it. */
export async function startControlledFake(opts: StartFakeOptions = {}): Promise<StartedFake & { control: FakeControl }> {
  const f = startFake({ ...opts, control: opts.control ?? true });
  const control = await FakeControl.connect(f.controlPath!, { timeoutMs: 10_000 });
  controls.push(control);
  return { ...f, control };
}


/** Tracks a control client so cleanup closes it. */
export function trackControl(control: FakeControl): FakeControl {
  controls.push(control);
  return control;
}

/** Tracks a process started elsewhere so cleanup stops it. */
export function track(proc: JsonRpcProcess): JsonRpcProcess {
  started.push(proc);
  return proc;
}

/** Stops every process and control connection started through this module and removes temp dirs. */
export async function cleanupFakes(): Promise<void> {
  for (const c of controls.splice(0)) c.close();
  await Promise.all(started.splice(0).map((p) => p.stop(1_000)));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}
