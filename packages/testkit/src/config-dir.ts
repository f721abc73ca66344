// Helpers for tests and benchmarks that prepare signal-cli config directories and watch processes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Write `<configDir>/data/accounts.json` in signal-cli's own format, listing `numbers` (the fake treats
 * every listed account as registered).
 */
export function writeAccountsJson(configDir: string, numbers: ReadonlyArray<string>): void {
  mkdirSync(join(configDir, 'data'), { recursive: true });
  const accounts = numbers.map((number, i) => ({ path: String(100000 + i), environment: 'LIVE', number, uuid: null }));
  writeFileSync(join(configDir, 'data', 'accounts.json'), JSON.stringify({ accounts, version: 2 }));
}

/** Whether a process with this pid exists (signal 0 probes without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
