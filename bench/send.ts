// `pnpm bench send`: POST /v2/send through the daemon (HTTP, validation, translation, the account actor's
// per-conversation queue, the supervised signal-cli) against the fake signal-cli, spread over 4 accounts and
// 64 conversations (one recipient each), at concurrency 1 and 32, with the daemon's default settings; beside
// a baseline measured in the same run that sends the same `send` calls straight to a fake over JSON-RPC
// (bare-loop.ts). Both fakes take `--send-ms` to answer a send, as signal-cli takes its round trip to
// Signal. Rounds alternate; medians are reported. In the same run, sends with an `--attachment-mib` photo
// (default 4 MiB, base64 in the JSON body) go through the daemon beside the text sends; then, on a fresh
// daemon, `--big-mib` bodies (default 90 MiB) are sent one alone and four at once while a client polls
// /livez, whose slowest answer shows how long the daemon's event loop stalled, and the daemon's peak RSS
// during each (the peak is reset before each) is read after it. Authentication: the same text sends go,
// round by round in turn, to two fresh daemons started alike, one without tokens and one with `--tokens` API
// tokens configured (the client sends the last as `Authorization: Bearer`), so the ratio is what checking a
// token costs a send.
import { Agent, request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAccountsJson } from '../packages/testkit/src/index.ts';
import { bareLoop } from './bare-loop.ts';
import { drive, median, parseBenchArgs, report, round } from './lib.ts';
import type { Sample } from './lib.ts';
import { startServer } from './servers.ts';

const ACCOUNTS = ['+15555550101', '+15555550102', '+15555550103', '+15555550104'];

function post(agent: Agent, port: number, path: string, body: string | Buffer, token?: string): Promise<number> {
  return new Promise((resolve) => {
    let status: number | undefined;
    const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    const req = request(
      { host: '127.0.0.1', port, path, method: 'POST', agent, headers },
      (res) => {
        status = res.statusCode ?? 0;
        res.resume();
        res.once('end', () => resolve(status!));
      },
    );
    // A refused body (413, 503) is answered before it is read and the connection closed: the answer counts (0
    // when the close came first).
    req.once('error', () => resolve(status ?? 0));
    req.end(body);
  });
}

export async function run(argv: string[]): Promise<void> {
  const args = parseBenchArgs(argv, {
    seconds: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '3' },
    // Unset: the daemon's default (SIGNAL_BROKER_ACCOUNT_MAX_IN_FLIGHT).
    'in-flight': { type: 'string' },
    recipients: { type: 'string', default: '64' },
    // How long the fake takes to answer a send (signal-cli's round trip to Signal: 0.3 s or more in life).
    'send-ms': { type: 'string', default: '50' },
    'attachment-mib': { type: 'string', default: '4' },
    // 0 skips the large-body phase.
    'big-mib': { type: 'string', default: '90' },
    // API tokens the authenticated daemon has (every one is compared on each request); 0 skips that phase.
    tokens: { type: 'string', default: '8' },
  });
  const seconds = Number(args.seconds);
  const rounds = Number(args.rounds);
  const inFlight = args['in-flight'];
  const sendMs = Number(args['send-ms']);
  // Each request goes to the next of these conversations (one recipient each), round robin.
  const recipients = Array.from({ length: Number(args.recipients) }, (_, i) => `+1555556${String(i).padStart(4, '0')}`);
  const scenario = sendMs > 0 ? { methodDelays: { send: sendMs } } : {};

  if (inFlight !== undefined) process.env.SIGNAL_BROKER_ACCOUNT_MAX_IN_FLIGHT = inFlight;
  const daemon = await startServer('daemon', ACCOUNTS, { scenario });
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  let n = 0;
  let failures = 0;
  let attachmentFailures = 0;
  const photo = Buffer.alloc(Number(args['attachment-mib']) * 1024 * 1024);
  for (let i = 0; i < photo.length; i++) photo[i] = (i * 7919) >>> 5;
  photo.set([0xff, 0xd8, 0xff, 0xe0]);
  const photoB64 = photo.toString('base64');
  const withAttachment = async () => {
    const k = n++;
    const account = ACCOUNTS[k % ACCOUNTS.length]!;
    const recipient = recipients[Math.floor(k / ACCOUNTS.length) % recipients.length]!;
    const body = JSON.stringify({ number: account, recipients: [recipient], message: `bench ${k}`, base64_attachments: [photoB64] });
    const status = await post(agent, daemon.port, '/v2/send', body);
    if (status !== 201) attachmentFailures++;
  };
  const viaRest = async () => {
    const k = n++;
    const account = ACCOUNTS[k % ACCOUNTS.length]!;
    const recipient = recipients[Math.floor(k / ACCOUNTS.length) % recipients.length]!;
    const status = await post(agent, daemon.port, '/v2/send', JSON.stringify({ number: account, recipients: [recipient], message: `bench ${k}` }));
    if (status !== 201) failures++;
  };

  const configDir = mkdtempSync(join(tmpdir(), 'sb-bench-send-'));
  writeAccountsJson(configDir, ACCOUNTS);
  const bare = bareLoop(configDir, scenario);
  await bare.ready();
  let m = 0;
  const direct = async () => {
    const k = m++;
    const account = ACCOUNTS[k % ACCOUNTS.length]!;
    const recipient = recipients[Math.floor(k / ACCOUNTS.length) % recipients.length]!;
    await bare.call('send', { account, recipient: [recipient], message: `bench ${k}`, notifySelf: true });
  };

  // The HTTP floor: the cheapest endpoint on the same server and client, to show what HTTP alone costs here.
  const floor = () =>
    new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: daemon.port, path: '/livez', agent }, (res) => {
        res.resume();
        res.once('end', () => resolve());
      });
      req.once('error', reject);
      req.end();
    });
  const floorSamples: Sample[] = [];

  const results: Record<number, { rest: Sample[]; baseline: Sample[]; attachment: Sample[] }> = {};
  for (const concurrency of [1, 32]) {
    const r = (results[concurrency] = { rest: [] as Sample[], baseline: [] as Sample[], attachment: [] as Sample[] });
    await drive(viaRest, concurrency, 0.5);
    await drive(direct, concurrency, 0.5);
    await drive(withAttachment, concurrency, 0.5);
    for (let i = 0; i < rounds; i++) {
      r.rest.push(await drive(viaRest, concurrency, seconds));
      r.baseline.push(await drive(direct, concurrency, seconds));
      r.attachment.push(await drive(withAttachment, concurrency, seconds));
      if (concurrency === 32) floorSamples.push(await drive(floor, concurrency, seconds));
    }
  }
  // Authentication on against off: the same sends, alternating daemons round by round.
  const tokenCount = Number(args.tokens);
  const auth: Record<string, unknown> = {};
  if (tokenCount > 0) {
    const tokens = Array.from({ length: tokenCount }, (_, i) => `bench-token-${i}-${'x'.repeat(32)}`);
    const withTokens = await startServer('daemon', ACCOUNTS, {
      scenario,
      env: { SIGNAL_BROKER_API_TOKENS: tokens.map((t, i) => `${t} name=bench-${i}`).join(';') },
    });
    // Fresh, like the one with tokens: the daemon above has grown its heap on the attachment sends.
    const withoutTokens = await startServer('daemon', ACCOUNTS, { scenario });
    const token = tokens.at(-1)!;
    let authFailures = 0;
    const viaRestNoAuth = async () => {
      const k = n++;
      const account = ACCOUNTS[k % ACCOUNTS.length]!;
      const recipient = recipients[Math.floor(k / ACCOUNTS.length) % recipients.length]!;
      const body = JSON.stringify({ number: account, recipients: [recipient], message: `bench ${k}` });
      if ((await post(agent, withoutTokens.port, '/v2/send', body)) !== 201) authFailures++;
    };
    const viaRestAuth = async () => {
      const k = n++;
      const account = ACCOUNTS[k % ACCOUNTS.length]!;
      const recipient = recipients[Math.floor(k / ACCOUNTS.length) % recipients.length]!;
      const body = JSON.stringify({ number: account, recipients: [recipient], message: `bench ${k}` });
      if ((await post(agent, withTokens.port, '/v2/send', body, token)) !== 201) authFailures++;
    };
    const sides: Record<string, Sample[]> = {};
    for (const concurrency of [1, 32]) {
      const on = (sides[`on_${concurrency}`] = [] as Sample[]);
      const off = (sides[`off_${concurrency}`] = [] as Sample[]);
      await drive(viaRestAuth, concurrency, 0.5);
      await drive(viaRestNoAuth, concurrency, 0.5);
      for (let i = 0; i < rounds; i++) {
        // Alternate which side goes first, so a drift in the machine's load favours neither.
        if (i % 2 === 0) {
          on.push(await drive(viaRestAuth, concurrency, seconds));
          off.push(await drive(viaRestNoAuth, concurrency, seconds));
        } else {
          off.push(await drive(viaRestNoAuth, concurrency, seconds));
          on.push(await drive(viaRestAuth, concurrency, seconds));
        }
      }
      const rps = (side: Sample[]) => median(side.map((x) => x.rps));
      auth[`auth_rps_c${concurrency}`] = round(rps(on), 0);
      auth[`noauth_rps_c${concurrency}`] = round(rps(off), 0);
      auth[`auth_p99_ms_c${concurrency}`] = round(median(on.map((x) => x.p99)), 3);
      auth[`noauth_p99_ms_c${concurrency}`] = round(median(off.map((x) => x.p99)), 3);
      auth[`auth_ratio_c${concurrency}`] = round(rps(on) / rps(off), 3);
    }
    auth.auth_tokens = tokenCount;
    auth.auth_failures = authFailures;
    await withTokens.stop();
    await withoutTokens.stop();
  }
  const mem = daemon.memory();
  agent.destroy();
  await daemon.stop();

  // Large bodies: one alone, then four at once, each while /livez is polled one request at a time, on a fresh
  // daemon (the attachment sends above leave the first one's heap and RSS grown, which would hide the figure).
  const bigMib = Number(args['big-mib']);
  const big: Record<string, unknown> = {};
  if (bigMib > 0) {
    const fresh = await startServer('daemon', ACCOUNTS, { scenario });
    const livez = new Agent({ keepAlive: true, maxSockets: 1 });
    const poke = () =>
      new Promise<void>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: fresh.port, path: '/livez', agent: livez }, (res) => {
          res.resume();
          res.once('end', () => resolve());
        });
        req.once('error', reject);
        req.end();
      });
    // Base64 grows by 4/3: the decoded size that makes a JSON body of about `bigMib`.
    const bigB64 = Buffer.alloc(Math.floor((bigMib * 1024 * 1024 * 3) / 4) - 1024, 0x5a).toString('base64');
    // Encoded once here, so that sending it does not stall this process's loop (and the /livez figure with it).
    const bigBody = Buffer.from(JSON.stringify({ number: ACCOUNTS[0], recipients: [recipients[0]], base64_attachments: [bigB64] }));
    for (const parallel of [1, 4]) {
      // The peak of this phase alone, not of the attachment sends before it; the resting RSS beside it.
      big[`big_x${parallel}_daemon_rss_before_mb`] = fresh.memory().rssMb;
      fresh.resetPeak();
      let busy = true;
      let slowest = 0;
      const poll = (async () => {
        while (busy) {
          const t = performance.now();
          await poke();
          slowest = Math.max(slowest, performance.now() - t);
        }
      })();
      const t0 = performance.now();
      const statuses = await Promise.all(Array.from({ length: parallel }, () => post(new Agent(), fresh.port, '/v2/send', bigBody)));
      const elapsed = performance.now() - t0;
      busy = false;
      await poll;
      big[`big_x${parallel}_statuses`] = statuses.join(' ');
      big[`big_x${parallel}_s`] = round(elapsed / 1000, 2);
      big[`big_x${parallel}_livez_max_ms`] = round(slowest, 1);
      big[`big_x${parallel}_daemon_peak_rss_mb`] = fresh.memory().peakMb;
    }
    big['big_body_mb'] = round(bigBody.length / 1024 / 1024, 1);
    livez.destroy();
    await fresh.stop();
  }
  await bare.stop();
  rmSync(configDir, { recursive: true, force: true });

  const med = (c: number, side: 'rest' | 'baseline' | 'attachment', k: keyof Sample) => median(results[c]![side].map((s) => s[k]));
  report(
    'send: POST /v2/send through the daemon vs send over JSON-RPC straight to the fake (medians of rounds)',
    {
      rps_c1: round(med(1, 'rest', 'rps'), 0),
      p50_ms_c1: round(med(1, 'rest', 'p50'), 3),
      p99_ms_c1: round(med(1, 'rest', 'p99'), 3),
      rps_c32: round(med(32, 'rest', 'rps'), 0),
      p50_ms_c32: round(med(32, 'rest', 'p50'), 3),
      p99_ms_c32: round(med(32, 'rest', 'p99'), 3),
      baseline_rps_c1: round(med(1, 'baseline', 'rps'), 0),
      baseline_rps_c32: round(med(32, 'baseline', 'rps'), 0),
      baseline_p99_ms_c32: round(med(32, 'baseline', 'p99'), 3),
      ratio_c1: round(med(1, 'rest', 'rps') / med(1, 'baseline', 'rps'), 3),
      ratio_c32: round(med(32, 'rest', 'rps') / med(32, 'baseline', 'rps'), 3),
      http_floor_rps_c32: round(median(floorSamples.map((f) => f.rps)), 0),
      ratio_to_http_floor_c32: round(med(32, 'rest', 'rps') / median(floorSamples.map((f) => f.rps)), 3),
      attachment_rps_c1: round(med(1, 'attachment', 'rps'), 1),
      attachment_p50_ms_c1: round(med(1, 'attachment', 'p50'), 1),
      attachment_p99_ms_c1: round(med(1, 'attachment', 'p99'), 1),
      attachment_rps_c32: round(med(32, 'attachment', 'rps'), 1),
      attachment_p50_ms_c32: round(med(32, 'attachment', 'p50'), 1),
      attachment_p99_ms_c32: round(med(32, 'attachment', 'p99'), 1),
      attachment_mib: Number(args['attachment-mib']),
      attachment_failures: attachmentFailures,
      account_max_in_flight: inFlight === undefined ? 'default' : Number(inFlight),
      recipients: recipients.length,
      send_ms: sendMs,
      failures,
      daemon_rss_mb: mem.peakMb,
      ...auth,
      ...big,
      rounds,
      seconds_per_round: seconds,
    },
    Boolean(args.json),
  );
}
