// The fake's view of a signal-cli config directory: the default location, `data/accounts.json` in the
// real (version 2) format, and a start counter used by `exitAtStartup.times`.
import { createHash, randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultSignalCliConfigDir } from '@signal-broker/signal-conventions';
import { FIXTURE_ACCOUNT, FIXTURE_ACCOUNT_UUID, FIXTURE_CONTACT } from '../fixtures.ts';

export interface AccountEntry {
  path: string;
  environment: string;
  number: string;
  uuid: string | null;
}

/** `--config DIR`, else signal-cli's default. */
export function resolveConfigDir(option: string | undefined, env: NodeJS.ProcessEnv): string {
  return option ?? defaultSignalCliConfigDir(env);
}

const accountsFile = (configDir: string): string => join(configDir, 'data', 'accounts.json');

/** Reads `data/accounts.json`; a missing file means no accounts. */
export function readAccountEntries(configDir: string): AccountEntry[] {
  let text: string;
  try {
    text = readFileSync(accountsFile(configDir), 'utf8');
  } catch {
    return [];
  }
  const parsed = JSON.parse(text) as { accounts?: unknown };
  if (!Array.isArray(parsed.accounts)) return [];
  return parsed.accounts.filter(
    (a): a is AccountEntry => typeof a === 'object' && a !== null && typeof (a as AccountEntry).number === 'string',
  );
}

/**
 * Whether the account file beside accounts.json says the account is registered. The real program skips
 * unregistered accounts; a missing account file (accounts written by tests or the fake) counts as registered.
 */
export function isRegisteredEntry(configDir: string, entry: AccountEntry): boolean {
  try {
    const data = JSON.parse(readFileSync(join(configDir, 'data', entry.path), 'utf8')) as { registered?: unknown };
    return data.registered !== false;
  } catch {
    return true;
  }
}

function writeAccountEntries(configDir: string, entries: AccountEntry[]): void {
  const file = accountsFile(configDir);
  mkdirSync(join(configDir, 'data'), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ accounts: entries, version: 2 }));
  renameSync(tmp, file);
}

export function addAccountEntry(configDir: string, number: string, uuid: string): void {
  const entries = readAccountEntries(configDir);
  if (entries.some((e) => e.number === number)) return;
  entries.push({ path: String(randomInt(100000, 1000000)), environment: 'LIVE', number, uuid });
  writeAccountEntries(configDir, entries);
}

export function removeAccountEntry(configDir: string, number: string): void {
  const entries = readAccountEntries(configDir);
  const kept = entries.filter((e) => e.number !== number);
  if (kept.length !== entries.length) writeAccountEntries(configDir, kept);
}

/** Increments and returns the number of starts recorded in this config dir (1 for the first start). */
export function countStart(configDir: string): number {
  const file = join(configDir, '.fake-signal-cli-starts');
  let n = 0;
  try {
    n = Number.parseInt(readFileSync(file, 'utf8'), 10) || 0;
  } catch {
    // first start
  }
  n++;
  mkdirSync(configDir, { recursive: true });
  writeFileSync(file, String(n));
  return n;
}

const WELL_KNOWN_UUIDS: Record<string, string> = {
  [FIXTURE_ACCOUNT]: FIXTURE_ACCOUNT_UUID,
  [FIXTURE_CONTACT.number]: FIXTURE_CONTACT.uuid,
};

/** A stable ACI for a number (the fixture identities keep their fixture ACIs). */
export function uuidForNumber(number: string): string {
  const known = WELL_KNOWN_UUIDS[number];
  if (known) return known;
  const h = createHash('sha256').update(`aci:${number}`).digest('hex');
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
