// A real small file system for fault tests: a tmpfs of a given size, mounted on a fresh directory, that a test
// can fill up, turn read-only and back. Mounting needs root (or CAP_SYS_ADMIN); `smallDiskSupport()` says
// whether this machine allows it, so a test can say why it is skipped instead of passing without testing.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SmallDisk {
  dir: string;
  /** Fill the disk up to the last byte with a file that `unfill` removes. */
  fill(): void;
  unfill(): void;
  readOnly(on: boolean): void;
  /** Unmount and remove. */
  remove(): void;
}

let support: string | null | undefined;

/** null when small disks can be mounted here, or why not. */
export function smallDiskSupport(): string | null {
  if (support !== undefined) return support;
  try {
    mountSmallDisk(1024 * 1024).remove();
    support = null;
  } catch (err) {
    support = `cannot mount a tmpfs here: ${(err as Error).message.split('\n')[0]}`;
  }
  return support;
}

export function mountSmallDisk(bytes: number): SmallDisk {
  const dir = mkdtempSync(join(tmpdir(), 'small-disk-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const filler = join(dir, '.filler');
  return {
    dir,
    fill() {
      // Write in steps until the file system says no space is left.
      const block = Buffer.alloc(64 * 1024);
      try {
        for (;;) writeFileSync(filler, block, { flag: 'a' });
      } catch {
        // ENOSPC: full.
      }
      try {
        for (;;) writeFileSync(filler, Buffer.alloc(512), { flag: 'a' });
      } catch {
        // Full to the last block.
      }
    },
    unfill() {
      rmSync(filler, { force: true });
    },
    readOnly(on: boolean) {
      execFileSync('mount', ['-o', `remount,${on ? 'ro' : 'rw'}`, dir], { stdio: 'pipe' });
    },
    remove() {
      try {
        execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
