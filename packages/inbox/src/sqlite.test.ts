// The SQLite engine against the contract every engine passes, plus what only a file on disk can show: a
// second process is refused, a damaged file is reported and left as it was, a full or read-only disk is
// answered with a clear code and loses nothing stored.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSigError } from '@signal-broker/errors';
import { mountSmallDisk, smallDiskSupport } from '@signal-broker/testkit';
import type { SmallDisk } from '@signal-broker/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { inboxContract } from './contract.ts';
import { SqliteInbox } from './sqlite.ts';

inboxContract('sqlite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'inbox-contract-'));
  return {
    open: async () => new SqliteInbox({ path: join(dir, 'inbox.db') }),
    destroy: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

describe('SqliteInbox on disk', () => {
  const dirs: string[] = [];
  const inboxes: SqliteInbox[] = [];
  afterEach(async () => {
    for (const i of inboxes.splice(0)) await i.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'inbox-disk-'));
    dirs.push(d);
    return d;
  };
  const openInbox = (path: string) => {
    const inbox = new SqliteInbox({ path });
    inboxes.push(inbox);
    return inbox;
  };

  it('creates its directory, and refuses a second opener of the same file while the first holds it', () => {
    const path = join(tempDir(), 'nested', 'inbox.db');
    const first = openInbox(path);
    first.append([{ account: '+15555550101', frame: '{}', receivedAt: 1 }]);
    let err: unknown;
    try {
      openInbox(path);
    } catch (e) {
      err = e;
    }
    expect(isSigError(err, 'SIG_ERR_INBOX_UNAVAILABLE')).toBe(true);
    expect((err as Error).message).toContain('in use by another process');
  });

  it('reports a damaged file as SIG_ERR_INBOX_CORRUPT and leaves its bytes untouched', () => {
    const path = join(tempDir(), 'inbox.db');
    const junk = Buffer.from('this is not a database, but it is somebody\'s data\n'.repeat(200));
    writeFileSync(path, junk);
    let err: unknown;
    try {
      openInbox(path);
    } catch (e) {
      err = e;
    }
    expect(isSigError(err, 'SIG_ERR_INBOX_CORRUPT')).toBe(true);
    expect((err as Error).message).toContain(path);
    expect(readFileSync(path).equals(junk)).toBe(true);
  });

  const noDisk = smallDiskSupport();
  describe.skipIf(noDisk !== null)(`on a small disk${noDisk === null ? '' : ` (skipped: ${noDisk})`}`, () => {
    const disks: SmallDisk[] = [];
    afterEach(async () => {
      for (const i of inboxes.splice(0)) await i.close().catch(() => {});
      for (const d of disks.splice(0)) d.remove();
    });
    const A = '+15555550101';
    const msg = (n: number) => ({ account: A, frame: `{"n":${n},"pad":"${'p'.repeat(2_000)}"}`, receivedAt: n });

    it('answers a full disk with SIG_ERR_INBOX_UNWRITABLE, keeps what it stored, and goes on without a gap once space is back', () => {
      const disk = mountSmallDisk(4 * 1024 * 1024);
      disks.push(disk);
      const inbox = openInbox(join(disk.dir, 'inbox.db'));
      expect(inbox.append([msg(1), msg(2)])).toEqual([1, 2]);
      disk.fill();
      let err: unknown;
      for (let n = 3; n < 200 && err === undefined; n++) {
        try {
          inbox.append([msg(n)]);
        } catch (e) {
          err = e;
        }
      }
      expect(isSigError(err, 'SIG_ERR_INBOX_UNWRITABLE')).toBe(true);
      const stored = inbox.readNow(A, 0, 1_000).map((e) => e.seq);
      expect(stored.slice(0, 2)).toEqual([1, 2]);
      disk.unfill();
      const [next] = inbox.append([msg(1_000)]);
      expect(next).toBe(stored.length + 1);
      expect(inbox.readNow(A, 0, 1_000).map((e) => e.seq)).toEqual(Array.from({ length: stored.length + 1 }, (_, i) => i + 1));
    });

    it('refuses to open on a read-only file system with SIG_ERR_INBOX_UNWRITABLE, and leaves the file as it was', async () => {
      const disk = mountSmallDisk(4 * 1024 * 1024);
      disks.push(disk);
      const path = join(disk.dir, 'inbox.db');
      const inbox = openInbox(path);
      inbox.append([msg(1)]);
      inboxes.pop();
      await inbox.close();
      const before = readFileSync(path);
      disk.readOnly(true);
      let err: unknown;
      try {
        openInbox(path);
      } catch (e) {
        err = e;
      }
      expect(isSigError(err, 'SIG_ERR_INBOX_UNWRITABLE')).toBe(true);
      expect((err as Error).message).toContain(path);
      expect(readFileSync(path).equals(before)).toBe(true);
      disk.readOnly(false);
      const again = openInbox(path);
      expect(again.readNow(A, 0, 10).map((e) => e.seq)).toEqual([1]);
    });
  });
});
