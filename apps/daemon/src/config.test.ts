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

  it('reads the allowed origins and host names, and refuses entries that are not', () => {
    const access = loadConfig({
      HOME: '/home/u',
      SIGNAL_BROKER_ALLOWED_ORIGINS: ' https://App.example , http://localhost:3000/',
      SIGNAL_BROKER_ALLOWED_HOSTS: 'Signal.example.lan,.home.arpa',
    }).access;
    expect(access).toEqual({ allowedOrigins: ['https://app.example', 'http://localhost:3000'], allowedHosts: ['signal.example.lan', '.home.arpa'] });
    expect(problems({ HOME: '/home/u', SIGNAL_BROKER_ALLOWED_ORIGINS: 'https://app.example/path' })).toEqual([
      expect.stringMatching(/^SIGNAL_BROKER_ALLOWED_ORIGINS: "https:\/\/app.example\/path" is not an origin/),
    ]);
    expect(problems({ HOME: '/home/u', SIGNAL_BROKER_ALLOWED_ORIGINS: 'app.example' })).toHaveLength(1);
    expect(problems({ HOME: '/home/u', SIGNAL_BROKER_ALLOWED_HOSTS: 'http://signal.example.lan:8080' })).toEqual([
      expect.stringMatching(/^SIGNAL_BROKER_ALLOWED_HOSTS: .* is not a host name/),
    ]);
  });

  it('refuses a SIGNAL_BROKER_ variable it does not know', () => {
    expect(problems({ SIGNAL_BROKER_LOG_PRETTY: 'true' })).toEqual([expect.stringMatching(/^SIGNAL_BROKER_LOG_PRETTY: unknown setting/)]);
  });
});
