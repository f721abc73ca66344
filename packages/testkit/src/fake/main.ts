// Entry logic of the fake signal-cli executable: argv, scenario, config dir, control channel, start-up,
// then serving until stdin EOF or a signal.
import { parseArgv } from './argv.ts';
import { resolveConfigDir } from './config-dir.ts';
import { createControlHandler } from './control-commands.ts';
import { ControlServer } from './control-server.ts';
import { FakeSignalCli } from './fake-process.ts';
import { parseScenario, ScenarioError, type FakeScenario } from './scenario.ts';

/** Exit codes of a JVM killed by a signal before signal-cli installed its handlers (128 + signal). */
const EARLY_SIGNAL_EXIT: Record<string, number> = { SIGTERM: 143, SIGINT: 130 };

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const parsed = parseArgv(argv);
  if (parsed.kind === 'exit') {
    if (parsed.stdout) process.stdout.write(parsed.stdout);
    if (parsed.stderr) process.stderr.write(parsed.stderr);
    process.exitCode = parsed.code;
    return;
  }

  let scenario: FakeScenario;
  try {
    scenario = parseScenario(env.FAKE_SIGNAL_CLI_SCENARIO);
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    process.stderr.write(`${e.message}\n`);
    process.exitCode = 2;
    return;
  }

  const fake = new FakeSignalCli(parsed.options, scenario, resolveConfigDir(parsed.options.configDir, env));
  const earlySignal = (signal: NodeJS.Signals): void => {
    if (fake.isReady || fake.isStopping) void fake.shutdown(signal);
    else fake.exit(EARLY_SIGNAL_EXIT[signal] ?? 1);
  };
  process.on('SIGTERM', earlySignal);
  process.on('SIGINT', earlySignal);
  process.on('exit', () => {
    fake.locks.releaseAll();
    fake.control?.removeSocketFile();
  });

  fake.loadAccounts();
  fake.startReading();
  const controlPath = env.FAKE_SIGNAL_CLI_CONTROL;
  if (controlPath) fake.control = await ControlServer.listen(controlPath, createControlHandler(fake));

  const outcome = await fake.startUp();
  if (outcome === 'hang') {
    // Blocked on the config lock: only a signal (exit 143) or a control `crash` ends this.
    setInterval(() => {}, 1 << 30);
    return;
  }
  if (outcome !== undefined) {
    if (outcome.stderr) fake.stderr(outcome.stderr);
    await fake.exitAfterFlush(outcome.code);
  }
  fake.becomeReady();
}
