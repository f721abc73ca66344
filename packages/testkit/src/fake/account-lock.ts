// signal-cli holds an exclusive lock on every account file it opens (`data/<path>`) for as long as it runs.
// A second instance on the same config prints `Config file is in use by another instance, waiting…`, blocks
// until the lock is free, then prints `Config file lock acquired.` and goes on starting. The JVM takes an
// fcntl lock, which Node cannot take; the fake takes the same lock as a file beside the account file
// (`data/<path>.lock`, holding its pid), created exclusively, removed on exit and taken over when the process
// that holds it is gone (as the kernel frees an fcntl lock when its holder dies). Fakes exclude each other
// this way; a fake and the real program do not.
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_WAITING = 'INFO  SignalAccount - Config file is in use by another instance, waiting…';
export const LOCK_ACQUIRED = 'INFO  SignalAccount - Config file lock acquired.';

function holderAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function tryTake(lockFile: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: 'wx' });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let holder: number;
    try {
      holder = Number.parseInt(readFileSync(lockFile, 'utf8'), 10);
    } catch {
      continue; // removed meanwhile: try again
    }
    if (Number.isInteger(holder) && holder > 0 && holderAlive(holder)) return false;
    try {
      unlinkSync(lockFile);
    } catch {
      // another waiter removed it first
    }
  }
  return false;
}

export class AccountLocks {
  private readonly held: string[] = [];

  /**
   * Locks the account file of each of `paths` (relative to `data/`) that exists, in order, waiting for each
   * one another instance holds. `stderr` gets signal-cli's lines about the wait.
   */
  async acquire(configDir: string, paths: ReadonlyArray<string>, stderr: (line: string) => void, pollMs = 50): Promise<void> {
    for (const path of paths) {
      const accountFile = join(configDir, 'data', path);
      if (!existsSync(accountFile)) continue;
      const lockFile = `${accountFile}.lock`;
      if (!tryTake(lockFile)) {
        stderr(LOCK_WAITING);
        while (!tryTake(lockFile)) await new Promise((resolve) => setTimeout(resolve, pollMs));
        stderr(LOCK_ACQUIRED);
      }
      this.held.push(lockFile);
    }
  }

  /** Frees every lock this process holds (synchronous, for `process.on('exit')`). */
  releaseAll(): void {
    for (const lockFile of this.held.splice(0)) {
      try {
        if (readFileSync(lockFile, 'utf8') === String(process.pid)) unlinkSync(lockFile);
      } catch {
        // already gone
      }
    }
  }
}
