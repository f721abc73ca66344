// Default names of a daemon and of its shard (the signal-cli data directory it would drive).
import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';

/**
 * The shard of a signal-cli data directory: a hash of its absolute path. Daemons that mount the shared
 * directory at the same path share the shard; where the paths differ, set SIGNAL_BROKER_SHARD to the same name.
 */
export function shardOf(configDir: string): string {
  return `dir-${createHash('sha256').update(resolve(configDir)).digest('hex').slice(0, 16)}`;
}

/** The host name and process id: unique among running daemons, and readable in the dump. */
export function defaultDaemonId(host = hostname(), pid = process.pid): string {
  const name = host.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 100) || 'daemon';
  return `${name}-${pid}`;
}
