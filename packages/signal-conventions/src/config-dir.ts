// Where signal-cli keeps its data when it gets no `--config`.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** signal-cli's default data directory: `$XDG_DATA_HOME/signal-cli`, else `$HOME/.local/share/signal-cli`. */
export function defaultSignalCliConfigDir(env: Readonly<Record<string, string | undefined>>): string {
  const xdg = env.XDG_DATA_HOME;
  if (xdg) return join(xdg, 'signal-cli');
  return join(env.HOME ?? homedir(), '.local', 'share', 'signal-cli');
}
