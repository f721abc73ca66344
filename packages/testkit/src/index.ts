// Test kit: the fake signal-cli (executable, scenario and control channel), notification fixtures and a
// small process driver for JSON-RPC over stdio, small disks and real NATS servers for fault and engine tests.
import { fileURLToPath } from 'node:url';

export { FakeControl, FakeControlError } from './control.ts';
export type { EmitCommand, EmitResult, FakeState, InjectCommand, PresetName, RequestRecord } from './control.ts';
export type { FakeScenario } from './fake/scenario.ts';
export { spawnJsonRpc, JsonRpcProcess, WaitTimeoutError } from './spawn.ts';
export type { ExitInfo, RpcError, RpcResponse, SpawnJsonRpcOptions } from './spawn.ts';
export * from './fixtures.ts';

/** Absolute path of the bundled fake (`node scripts/build.mjs` writes it; executable, with a node shebang). */
export const fakeSignalCliPath = fileURLToPath(new URL('../dist/fake-signal-cli.js', import.meta.url));
export { isAlive, writeAccountsJson } from './config-dir.ts';
export { mountSmallDisk, smallDiskSupport } from './small-disk.ts';
export type { SmallDisk } from './small-disk.ts';
export { createTestCertificate, opensslSupport } from './certificates.ts';
export type { TestCertificate } from './certificates.ts';
export { natsServerPath, natsServerSupport, startNatsCluster, startNatsServer } from './nats-server.ts';
export type { NatsCluster, NatsServer, NatsServerOptions } from './nats-server.ts';
