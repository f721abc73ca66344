export { ClusterMember } from './lease.ts';
export type {
  ClusterDump,
  ClusterOptions,
  ClusterProblem,
  ClusterReadiness,
  ClusterSelf,
  LeaseHandlers,
  LeaseValue,
  OwnerValue,
  PresenceValue,
  Role,
} from './lease.ts';
export { defaultDaemonId, shardOf } from './names.ts';
