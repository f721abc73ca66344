import { isSigError } from '@signal-broker/errors';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (isSigError(err, 'SIG_ERR_CONFIG_INVALID')) return err.details.problems as string[];
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('accepts both json-rpc modes and refuses the others, naming the variable', () => {
    expect(problems({ MODE: 'json-rpc' })).toEqual([]);
    expect(problems({ MODE: 'json-rpc-native' })).toEqual([]);
    expect(problems({ MODE: 'normal' })).toEqual([expect.stringMatching(/^MODE="normal": /)]);
  });

  it("takes signal-cli's default data directory from XDG_DATA_HOME or HOME", () => {
    expect(loadConfig({ XDG_DATA_HOME: '/xdg', HOME: '/home/u' }).signalCli.configDir).toBe('/xdg/signal-cli');
    expect(loadConfig({ HOME: '/home/u' }).signalCli.configDir).toBe('/home/u/.local/share/signal-cli');
    expect(loadConfig({ HOME: '/home/u', SIGNAL_CLI_CONFIG_DIR: '/data' }).signalCli.configDir).toBe('/data');
  });

  it('refuses a SIGNAL_BROKER_ variable it does not know', () => {
    expect(problems({ SIGNAL_BROKER_LOG_PRETTY: 'true' })).toEqual([expect.stringMatching(/^SIGNAL_BROKER_LOG_PRETTY: unknown setting/)]);
  });
});
