// Per-account settings signal-cli has no per-account switch for (today: the trust mode for new identities),
// kept in a small JSON file beside signal-cli's data so they survive restarts.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TrustMode } from '@signal-broker/rest-compat';

export interface AccountSettings {
  trustMode: TrustMode;
}

export class AccountSettingsStore {
  private readonly settings: Record<string, AccountSettings>;

  constructor(
    private readonly file: string,
    private readonly defaultTrustMode: TrustMode,
  ) {
    this.settings = load(file);
  }

  get(account: string): AccountSettings {
    return Object.hasOwn(this.settings, account) ? this.settings[account]! : { trustMode: this.defaultTrustMode };
  }

  set(account: string, settings: AccountSettings): void {
    this.settings[account] = settings;
    mkdirSync(dirname(this.file), { recursive: true });
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(this.settings, null, 2)}\n`);
    renameSync(tmp, this.file);
  }
}

function load(file: string): Record<string, AccountSettings> {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, AccountSettings>) : {};
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}
