export { Broker } from './broker.ts';
export type { AccountDump, BrokerDump, BrokerOptions, CallExecutor, CallOptions, SubscriberDump } from './broker.ts';
export { createAccountMachine } from './account.machine.ts';
export type { AccountCalls, AccountContext, AccountEvent, AccountIo, CliStatus, DetachReason, SubscriberRecord } from './account.machine.ts';
export { createBrokerMachine } from './broker.machine.ts';
export type { BrokerContext, BrokerEvent } from './broker.machine.ts';
export { SinkRegistry } from './sinks.ts';
export type { DeliveryResult, SinkStats, SubscriberSink } from './sinks.ts';
