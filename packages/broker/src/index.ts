export { ACCOUNT_FAILED_CLOSE, Broker, CONSUMER_REPLACED_CLOSE, DEFAULT_MAX_SUBSCRIBERS } from './broker.ts';
export { CONSUMER_NAME, SHARED_CONSUMER } from './feed.ts';
export type { FeedDump } from './feed.ts';
export type { AccountDump, AttachOptions, BrokerDump, BrokerOptions, CallExecutor, OldestWaiting, CallOptions, SubscriberDump, UnscopedDump, UnscopedExecutor } from './broker.ts';
export { ACCOUNT_REMOVED_CLOSE, createAccountMachine, fanOutFrame, startableCalls } from './account.machine.ts';
export type {
  AccountCalls,
  AccountContext,
  AccountCounters,
  AccountEvent,
  AccountLive,
  CallEntry,
  CliStatus,
  DetachReason,
  InboxPosition,
  SubscriberRecord,
} from './account.machine.ts';
export { SUPERVISOR_ACTOR_ID, createBrokerMachine } from './broker.machine.ts';
export type { BrokerContext, BrokerEvent, HostedSupervisor } from './broker.machine.ts';
export { laneOf, MESSAGE_METHODS } from './lanes.ts';
export type { Lane } from './lanes.ts';
export { SinkRegistry } from './sinks.ts';
export type { DeliveryResult, SubscriberSink } from './sinks.ts';
export { ACTOR_KINDS, Inspection } from './inspection.ts';
export type { ActorKind, InspectionFilter, InspectionRecord, InspectionSink } from './inspection.ts';
