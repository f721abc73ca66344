// The table `signal-broker actors` prints: one row per account, then one line for signal-cli.
import type { AccountDump, ActorsDump } from './dump.ts';

const COLUMNS = ['ACCOUNT', 'STATE', 'CLIENTS', 'RECEIVED', 'DELIVERED', 'BACKLOG', 'QUEUED', 'IN-FLIGHT', 'LAST-MSG'] as const;
const LEFT = new Set(['ACCOUNT', 'STATE']);

const count = (v: unknown): string => (typeof v === 'number' && Number.isFinite(v) ? String(v) : '-');

export function age(ms: number | null | undefined, now: number): string {
  if (typeof ms !== 'number') return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}

function row(a: AccountDump, now: number): string[] {
  const backlog = a.inbox === null ? 'off' : count(a.inbox?.backlog ?? a.inbox?.depth);
  return [
    a.account,
    typeof a.state === 'string' ? a.state : JSON.stringify(a.state ?? '-'),
    count(a.subscribers?.length),
    count(a.counters?.received),
    count(a.counters?.delivered),
    backlog,
    count(a.calls?.queued),
    count(a.calls?.inFlight),
    age(a.lastReceivedAt, now),
  ];
}

export function signalCliLine(dump: ActorsDump, now: number): string {
  const cli = dump.signalCli;
  if (cli === undefined) return 'signal-cli: not reported';
  const c = cli.context ?? {};
  const parts = [`signal-cli: ${cli.status ?? 'unknown'}`];
  parts.push(`pid ${c.pid ?? '-'}`);
  if (typeof c.readyAt === 'number') parts.push(`up ${age(c.readyAt, now)}`);
  parts.push(`restarts ${count(c.restarts)}`);
  if (c.version) parts.push(`version ${c.version}`);
  const f = c.lastFailure;
  parts.push(f ? `last failure: ${[f.code, f.reason].filter(Boolean).join(' ')}${f.message ? `: ${f.message}` : ''}${typeof f.at === 'number' ? ` (${age(f.at, now)} ago)` : ''}` : 'last failure: none');
  return parts.join('  ');
}

/** Cluster mode: this daemon's role, its shard and who holds the shard's lease; undefined otherwise. */
export function clusterLine(dump: ActorsDump): string | undefined {
  const c = dump.cluster;
  if (c === undefined) return undefined;
  const s = c.self ?? {};
  const parts = [`cluster: ${s.id ?? '?'} ${s.role ?? 'unknown'}`, `shard ${s.shard ?? '-'}`, `holder ${s.holder ?? 'none'}`];
  parts.push(`daemons ${count(c.daemons?.length)}`);
  if (typeof s.fences === 'number' && s.fences > 0) parts.push(`fences ${s.fences}`);
  if (c.error) parts.push(`error ${c.error.code ?? 'unknown'}`);
  return parts.join('  ');
}

/** The table as lines (no trailing newline). */
export function renderTable(dump: ActorsDump, now = Date.now()): string[] {
  const rows = (dump.broker?.accounts ?? []).map((a) => row(a, now));
  const widths = COLUMNS.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const format = (cells: readonly string[]) =>
    cells
      .map((c, i) => (LEFT.has(COLUMNS[i]!) ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const lines = [format(COLUMNS), ...rows.map(format)];
  if (rows.length === 0) lines.push('(no accounts)');
  lines.push(signalCliLine(dump, now));
  const cluster = clusterLine(dump);
  if (cluster !== undefined) lines.push(cluster);
  return lines;
}
