import { homedir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultSignalCliConfigDir } from './config-dir.ts';

describe('defaultSignalCliConfigDir', () => {
  it('is $XDG_DATA_HOME/signal-cli when set, else $HOME/.local/share/signal-cli', () => {
    expect(defaultSignalCliConfigDir({ XDG_DATA_HOME: '/x', HOME: '/h' })).toBe('/x/signal-cli');
    expect(defaultSignalCliConfigDir({ XDG_DATA_HOME: '', HOME: '/h' })).toBe('/h/.local/share/signal-cli');
    expect(defaultSignalCliConfigDir({})).toBe(`${homedir()}/.local/share/signal-cli`);
  });
});
