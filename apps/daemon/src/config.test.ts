import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSigError } from '@signal-broker/errors';
import { createTestCertificate, opensslSupport } from '@signal-broker/testkit';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

function problems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (isSigError(err, 'SIG_ERR_CONFIG_INVALID')) return err.details.problems as string[];
    throw err;
  }
  return [];
}

describe('loadConfig', () => {
  it('accepts both json-rpc modes and refuses the others, naming the variable', () => {
    expect(problems({ MODE: 'json-rpc' })).toEqual([]);
    expect(problems({ MODE: 'json-rpc-native' })).toEqual([]);
    expect(problems({ MODE: 'normal' })).toEqual([expect.stringMatching(/^MODE="normal": /)]);
  });

  it("takes signal-cli's default data directory from XDG_DATA_HOME or HOME", () => {
    expect(loadConfig({ XDG_DATA_HOME: '/xdg', HOME: '/home/u' }).signalCli.configDir).toBe('/xdg/signal-cli');
    expect(loadConfig({ HOME: '/home/u' }).signalCli.configDir).toBe('/home/u/.local/share/signal-cli');
    expect(loadConfig({ HOME: '/home/u', SIGNAL_CLI_CONFIG_DIR: '/data' }).signalCli.configDir).toBe('/data');
  });

  it('reads the allowed origins and host names, and refuses entries that are not', () => {
    const access = loadConfig({
      HOME: '/home/u',
      SIGNAL_BROKER_ALLOWED_ORIGINS: ' https://App.example , http://localhost:3000/',
      SIGNAL_BROKER_ALLOWED_HOSTS: 'Signal.example.lan,.home.arpa',
    }).access;
    expect(access).toEqual({ allowedOrigins: ['https://app.example', 'http://localhost:3000'], allowedHosts: ['signal.example.lan', '.home.arpa'] });
    expect(problems({ HOME: '/home/u', SIGNAL_BROKER_ALLOWED_ORIGINS: 'https://app.example/path' })).toEqual([
      expect.stringMatching(/^SIGNAL_BROKER_ALLOWED_ORIGINS: "https:\/\/app.example\/path" is not an origin/),
    ]);
    expect(problems({ HOME: '/home/u', SIGNAL_BROKER_ALLOWED_ORIGINS: 'app.example' })).toHaveLength(1);
    expect(problems({ HOME: '/home/u', SIGNAL_BROKER_ALLOWED_HOSTS: 'http://signal.example.lan:8080' })).toEqual([
      expect.stringMatching(/^SIGNAL_BROKER_ALLOWED_HOSTS: .* is not a host name/),
    ]);
  });

  it('reads the addresses allowed to read /metrics, and refuses entries that are not addresses or ranges', () => {
    expect(loadConfig({ HOME: '/home/u' }).metrics.allow).toEqual([]);
    expect(loadConfig({ HOME: '/home/u', SIGNAL_BROKER_METRICS_ALLOW: ' 10.0.0.0/8, 192.168.1.20 ,fd00::/8' }).metrics.allow).toEqual([
      '10.0.0.0/8',
      '192.168.1.20',
      'fd00::/8',
    ]);
    for (const bad of ['prometheus', '10.0.0.0/33', '10.0.0/8', 'fd00::/129', '10.0.0.0/8/1', '10.0.0.0/']) {
      expect(problems({ HOME: '/home/u', SIGNAL_BROKER_METRICS_ALLOW: bad })).toEqual([
        expect.stringMatching(/^SIGNAL_BROKER_METRICS_ALLOW: .* is not an IP address or CIDR range/),
      ]);
    }
  });

  it('reads RECEIVE_WEBHOOK_URL and SIGNAL_BROKER_WEBHOOKS, with ids that depend only on the definition', () => {
    const env = {
      HOME: '/home/u',
      RECEIVE_WEBHOOK_URL: 'http://hooks.local:9000/receive',
      SIGNAL_BROKER_WEBHOOKS: '[{"url":"https://a.example/x","accounts":["+4915112345678","+15555550123"],"secret":"k"},{"url":"https://b.example/"}]',
    };
    const hooks = loadConfig(env).webhooks.configured;
    expect(hooks).toEqual([
      { id: expect.stringMatching(/^env-[0-9a-f]{16}$/), url: 'http://hooks.local:9000/receive', accounts: null, secret: null },
      { id: expect.stringMatching(/^cfg-[0-9a-f]{16}$/), url: 'https://a.example/x', accounts: ['+15555550123', '+4915112345678'], secret: 'k' },
      { id: expect.stringMatching(/^cfg-[0-9a-f]{16}$/), url: 'https://b.example/', accounts: null, secret: null },
    ]);
    expect(loadConfig(env).webhooks.configured.map((h) => h.id)).toEqual(hooks.map((h) => h.id));
    expect(new Set(hooks.map((h) => h.id)).size).toBe(3);
    // The secret is not part of the identity: changing it keeps the position.
    const rotated = loadConfig({ ...env, SIGNAL_BROKER_WEBHOOKS: env.SIGNAL_BROKER_WEBHOOKS.replace('"k"', '"k2"') });
    expect(rotated.webhooks.configured[1]!.id).toBe(hooks[1]!.id);
  });

  it('refuses webhooks that cannot work, saying why', () => {
    const base = { HOME: '/home/u' };
    expect(problems({ ...base, RECEIVE_WEBHOOK_URL: 'ftp://x.example/' })).toEqual([expect.stringMatching(/^RECEIVE_WEBHOOK_URL=.*must use http or https/)]);
    expect(problems({ ...base, SIGNAL_BROKER_WEBHOOKS: '{nope' })).toEqual([expect.stringMatching(/^SIGNAL_BROKER_WEBHOOKS: not valid JSON/)]);
    expect(problems({ ...base, SIGNAL_BROKER_WEBHOOKS: '[{"url":"https://a.example","accounts":["123"]}]' })).toEqual([
      expect.stringMatching(/^SIGNAL_BROKER_WEBHOOKS\[0\.accounts\.0\]: an account must be a phone number/),
    ]);
    expect(problems({ ...base, SIGNAL_BROKER_WEBHOOKS: '[{"url":"https://a.example"},{"url":"https://a.example"}]' })).toEqual([
      expect.stringMatching(/^SIGNAL_BROKER_WEBHOOKS\[1\]: the same URL and accounts are listed twice/),
    ]);
    expect(problems({ ...base, RECEIVE_WEBHOOK_URL: 'http://h.local/', SIGNAL_BROKER_INBOX: 'off' })).toEqual([
      expect.stringMatching(/webhooks read from the inbox, which SIGNAL_BROKER_INBOX=off turns off/),
    ]);
  });

  it('keeps the inbox in SQLite by default, and in NATS JetStream when SIGNAL_BROKER_INBOX_URL is set', () => {
    expect(loadConfig({ HOME: '/home/u' }).inbox).toMatchObject({ engine: 'sqlite', nats: undefined });
    expect(loadConfig({ HOME: '/home/u', SIGNAL_BROKER_INBOX: 'off' }).inbox).toMatchObject({ engine: 'off', nats: undefined });
    expect(loadConfig({ HOME: '/home/u', SIGNAL_BROKER_INBOX_URL: 'nats://127.0.0.1:4222' }).inbox).toMatchObject({
      engine: 'jetstream',
      nats: { servers: ['nats://127.0.0.1:4222'], user: undefined, pass: undefined, token: undefined, replicas: 1 },
    });
    const cluster = loadConfig({
      HOME: '/home/u',
      SIGNAL_BROKER_INBOX: 'jetstream',
      SIGNAL_BROKER_INBOX_URL: 'nats://broker:p%40ss%3Aw@n1.lan:4222, nats://n2.lan:4222,nats://broker:p%40ss%3Aw@[fd00::3]:4222',
      SIGNAL_BROKER_INBOX_REPLICAS: '3',
    }).inbox.nats;
    expect(cluster).toEqual({ servers: ['nats://n1.lan:4222', 'nats://n2.lan:4222', 'nats://[fd00::3]:4222'], user: 'broker', pass: 'p@ss:w', token: undefined, replicas: 3 });
    expect(loadConfig({ HOME: '/home/u', SIGNAL_BROKER_INBOX_URL: 'nats://s3cr3t@nats:4222' }).inbox.nats).toMatchObject({ token: 's3cr3t', user: undefined });
  });

  it('refuses a JetStream inbox setting that cannot work, without repeating its credentials', () => {
    const bad = (env: Record<string, string>) => problems({ HOME: '/home/u', ...env });
    expect(bad({ SIGNAL_BROKER_INBOX: 'jetstream' })).toEqual([expect.stringMatching(/^SIGNAL_BROKER_INBOX=jetstream: needs SIGNAL_BROKER_INBOX_URL/)]);
    expect(bad({ SIGNAL_BROKER_INBOX: 'off', SIGNAL_BROKER_INBOX_URL: 'nats://h:4222' })).toEqual([
      expect.stringMatching(/^SIGNAL_BROKER_INBOX_URL: selects the JetStream inbox, but SIGNAL_BROKER_INBOX=off/),
    ]);
    expect(bad({ SIGNAL_BROKER_INBOX_REPLICAS: '3' })).toEqual([expect.stringMatching(/^SIGNAL_BROKER_INBOX_REPLICAS: applies to the JetStream inbox only/)]);
    expect(bad({ SIGNAL_BROKER_INBOX_URL: 'nats://h:4222', SIGNAL_BROKER_INBOX_REPLICAS: '6' })).toEqual([
      expect.stringMatching(/^SIGNAL_BROKER_INBOX_REPLICAS="6": /),
    ]);
    for (const url of ['http://u:secret@h:4222', 'nats://u:secret@h:4222/path', 'u:secret@h:4222', 'nats://u:secret@h:4222?x=1']) {
      const found = bad({ SIGNAL_BROKER_INBOX_URL: url });
      expect(found).toEqual([expect.stringMatching(/^SIGNAL_BROKER_INBOX_URL: URL 1 .*(nats:\/\/host:port)/)]);
      expect(found[0]).not.toContain('secret');
    }
    const mixed = bad({ SIGNAL_BROKER_INBOX_URL: 'nats://a:secret1@h1:4222,nats://a:secret2@h2:4222' });
    expect(mixed).toEqual([expect.stringMatching(/^SIGNAL_BROKER_INBOX_URL: the URLs carry different credentials/)]);
    expect(mixed[0]).not.toMatch(/secret/);
  });

  it('turns cluster mode on with SIGNAL_BROKER_CLUSTER=on and the JetStream inbox; the shard follows the data directory', () => {
    const nats = { HOME: '/home/u', SIGNAL_BROKER_INBOX_URL: 'nats://127.0.0.1:4222' };
    expect(loadConfig(nats).cluster).toBeUndefined();
    const on = loadConfig({ ...nats, SIGNAL_BROKER_CLUSTER: 'on', SIGNAL_CLI_CONFIG_DIR: '/srv/signal' }).cluster!;
    expect(on).toMatchObject({ heartbeatMs: 2_000, timeoutMs: 10_000 });
    expect(on.daemonId).toMatch(new RegExp(`-${process.pid}$`));
    // Two daemons pointed at the same directory share its shard; another directory is another shard.
    expect(loadConfig({ ...nats, SIGNAL_BROKER_CLUSTER: 'on', SIGNAL_CLI_CONFIG_DIR: '/srv/signal/' }).cluster!.shard).toBe(on.shard);
    expect(loadConfig({ ...nats, SIGNAL_BROKER_CLUSTER: 'on', SIGNAL_CLI_CONFIG_DIR: '/srv/other' }).cluster!.shard).not.toBe(on.shard);
    expect(
      loadConfig({
        ...nats,
        SIGNAL_BROKER_CLUSTER: 'on',
        SIGNAL_BROKER_DAEMON_ID: 'node-a',
        SIGNAL_BROKER_SHARD: 'numbers-1',
        SIGNAL_BROKER_LEASE_HEARTBEAT_MS: '200',
        SIGNAL_BROKER_LEASE_TIMEOUT_MS: '1000',
      }).cluster,
    ).toEqual({ daemonId: 'node-a', shard: 'numbers-1', heartbeatMs: 200, timeoutMs: 1_000 });
  });

  it('refuses cluster settings that cannot work', () => {
    const bad = (env: Record<string, string>) => problems({ HOME: '/home/u', ...env });
    expect(bad({ SIGNAL_BROKER_CLUSTER: 'on' })).toEqual([expect.stringMatching(/^SIGNAL_BROKER_CLUSTER=on: needs the JetStream inbox/)]);
    expect(bad({ SIGNAL_BROKER_INBOX_URL: 'nats://h:4222', SIGNAL_BROKER_SHARD: 'x' })).toEqual([
      expect.stringMatching(/^SIGNAL_BROKER_SHARD: applies in cluster mode only/),
    ]);
    expect(bad({ SIGNAL_BROKER_INBOX_URL: 'nats://h:4222', SIGNAL_BROKER_CLUSTER: 'on', SIGNAL_BROKER_LEASE_HEARTBEAT_MS: '500', SIGNAL_BROKER_LEASE_TIMEOUT_MS: '1000' })).toEqual([
      expect.stringMatching(/^SIGNAL_BROKER_LEASE_TIMEOUT_MS=1000: must be more than two heartbeats/),
    ]);
    expect(bad({ SIGNAL_BROKER_INBOX_URL: 'nats://h:4222', SIGNAL_BROKER_CLUSTER: 'on', SIGNAL_BROKER_DAEMON_ID: 'a b' })).toEqual([
      expect.stringMatching(/^SIGNAL_BROKER_DAEMON_ID="a b": /),
    ]);
  });

  it('refuses a SIGNAL_BROKER_ variable it does not know', () => {
    expect(problems({ SIGNAL_BROKER_LOG_PRETTY: 'true' })).toEqual([expect.stringMatching(/^SIGNAL_BROKER_LOG_PRETTY: unknown setting/)]);
  });

  it('refuses LOG_PRETTY and says how to read the logs formatted', () => {
    expect(problems({ LOG_PRETTY: 'true' })).toEqual([expect.stringMatching(/^LOG_PRETTY: not supported: logs are always JSON lines; .*pino-pretty/)]);
    expect(problems({ LOG_PRETTY: '' })).toEqual([]);
  });

  it('reads the version probe interval; 0 turns it off', () => {
    expect(loadConfig({}).signalCli.probeIntervalMs).toBe(30_000);
    expect(loadConfig({ SIGNAL_BROKER_PROBE_INTERVAL_MS: '0' }).signalCli.probeIntervalMs).toBe(0);
    expect(problems({ SIGNAL_BROKER_PROBE_INTERVAL_MS: '-1' })).toEqual([expect.stringMatching(/^SIGNAL_BROKER_PROBE_INTERVAL_MS="-1"/)]);
  });

  describe('TLS', () => {
    it('needs both the certificate and the key, naming the one missing', () => {
      expect(problems({ SIGNAL_BROKER_TLS_CERT: '/etc/ssl/c.pem' })).toEqual([
        expect.stringMatching(/^SIGNAL_BROKER_TLS_CERT is set but SIGNAL_BROKER_TLS_KEY is not/),
      ]);
      expect(problems({ SIGNAL_BROKER_TLS_KEY: '/etc/ssl/k.pem' })).toEqual([
        expect.stringMatching(/^SIGNAL_BROKER_TLS_KEY is set but SIGNAL_BROKER_TLS_CERT is not/),
      ]);
      expect(loadConfig({}).http.tls).toBeUndefined();
    });

    it('names a file that does not exist', () => {
      const dir = mkdtempSync(join(tmpdir(), 'sb-config-tls-'));
      try {
        const cert = join(dir, 'missing-cert.pem');
        expect(problems({ SIGNAL_BROKER_TLS_CERT: cert, SIGNAL_BROKER_TLS_KEY: join(dir, 'k.pem') })).toEqual([
          `SIGNAL_BROKER_TLS_CERT: ${cert} does not exist; it should hold the certificate in PEM`,
        ]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    describe.skipIf(opensslSupport() !== null)(`with certificates made by openssl${opensslSupport() === null ? '' : ` (skipped: ${opensslSupport()})`}`, () => {
      it('takes a certificate and its key; refuses a foreign or broken key without quoting it', () => {
        const dir = mkdtempSync(join(tmpdir(), 'sb-config-tls-'));
        try {
          const a = createTestCertificate(dir, 'config-a');
          const b = createTestCertificate(dir, 'config-b');
          expect(loadConfig({ SIGNAL_BROKER_TLS_CERT: a.certFile, SIGNAL_BROKER_TLS_KEY: a.keyFile }).http.tls).toEqual({ certFile: a.certFile, keyFile: a.keyFile });
          const foreign = problems({ SIGNAL_BROKER_TLS_CERT: a.certFile, SIGNAL_BROKER_TLS_KEY: b.keyFile });
          expect(foreign).toEqual([`SIGNAL_BROKER_TLS_KEY: ${b.keyFile} is not the private key of the certificate in ${a.certFile}`]);
          const broken = join(dir, 'broken.key.pem');
          const key = readFileSync(a.keyFile, 'utf8');
          writeFileSync(broken, key.replace(/\n[A-Za-z0-9+/]{8}/, '\n********'));
          const said = problems({ SIGNAL_BROKER_TLS_CERT: a.certFile, SIGNAL_BROKER_TLS_KEY: broken });
          expect(said).toEqual([expect.stringMatching(new RegExp(`^SIGNAL_BROKER_TLS_KEY: ${broken} holds no readable PEM private key`))]);
          const body = key.split('\n')[1]!;
          expect(said.join('\n')).not.toContain(body.slice(10, 30));
          // The certificate where the key should be, and the key where the certificate should be.
          copyFileSync(a.keyFile, join(dir, 'swapped.pem'));
          expect(problems({ SIGNAL_BROKER_TLS_CERT: join(dir, 'swapped.pem'), SIGNAL_BROKER_TLS_KEY: a.certFile })).toEqual([
            expect.stringMatching(/^SIGNAL_BROKER_TLS_CERT: .*swapped\.pem holds no PEM certificate/),
          ]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  });

  it('reads the connection and subscriber limits, with their defaults, and refuses 0', () => {
    const defaults = loadConfig({});
    expect(defaults.http).toMatchObject({ maxConnections: 4_096, maxConnectionsPerAddress: 256 });
    expect(defaults.maxSubscribersPerAccount).toBe(256);
    const set = loadConfig({ SIGNAL_BROKER_MAX_CONNECTIONS: '100', SIGNAL_BROKER_MAX_CONNECTIONS_PER_ADDRESS: '10', SIGNAL_BROKER_MAX_SUBSCRIBERS_PER_ACCOUNT: '5' });
    expect(set.http).toMatchObject({ maxConnections: 100, maxConnectionsPerAddress: 10 });
    expect(set.maxSubscribersPerAccount).toBe(5);
    for (const name of ['SIGNAL_BROKER_MAX_CONNECTIONS', 'SIGNAL_BROKER_MAX_CONNECTIONS_PER_ADDRESS', 'SIGNAL_BROKER_MAX_SUBSCRIBERS_PER_ACCOUNT']) {
      expect(problems({ [name]: '0' })).toEqual([expect.stringMatching(new RegExp(`^${name}="0"`))]);
    }
  });
});
