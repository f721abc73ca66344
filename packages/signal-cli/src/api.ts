// Typed wrappers for signal-cli 0.13.19's JSON-RPC methods (reference §2). Each wrapper sends its params as
// given, minus members whose value is `undefined`, and never adds keys: `register`, `verify` and `finishLink`
// have typed params and reject unknown keys with -32600. Methods without params send no `params` member.

import { SigError } from '@signal-broker/errors';
import type {
  AccountEntry,
  AccountParams,
  AddDeviceParams,
  AddStickerPackParams,
  BinaryResult,
  BlockParams,
  Contact,
  DeleteLocalAccountDataParams,
  Device,
  EmptyResult,
  FinishLinkParams,
  FinishLinkResult,
  GetAttachmentParams,
  GetAvatarParams,
  GetStickerParams,
  GetUserStatusParams,
  Group,
  Identity,
  JoinGroupParams,
  JoinGroupResult,
  ListContactsParams,
  ListGroupsParams,
  ListIdentitiesParams,
  QuitGroupParams,
  QuitGroupResult,
  RegisterParams,
  RemoteDeleteParams,
  RemoveContactParams,
  RemoveDeviceParams,
  SendMessageRequestResponseParams,
  SendParams,
  SendReactionParams,
  SendReceiptParams,
  SendResult,
  SendTypingParams,
  SetPinParams,
  StartLinkResult,
  StickerPack,
  SubmitRateLimitChallengeParams,
  SubscribeReceiveParams,
  SubscribeReceiveResult,
  TrustParams,
  UnregisterParams,
  UnsubscribeReceiveParams,
  UpdateAccountParams,
  UpdateAccountResult,
  UpdateConfigurationParams,
  UpdateContactParams,
  UpdateGroupParams,
  UpdateGroupResult,
  UpdateProfileParams,
  UserStatus,
  VerifyParams,
  VersionResult,
} from './types/methods.ts';

export interface CallOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /**
   * The id of the request that caused the call (e.g. an HTTP request's x-request-id): the JSON-RPC id becomes
   * `"<requestId>#<n>"`, so signal-cli's logs and ours can be matched to it (see the peer's `tag`).
   */
  requestId?: string;
}

/** Sends one JSON-RPC request and resolves with its result (rejects with a SigError from @signal-broker/errors). */
export type RpcCall = <T>(method: string, params: Record<string, unknown> | undefined, options?: CallOptions) => Promise<T>;

/**
 * One method per signal-cli JSON-RPC method, named as on the wire. Errors are whatever the `RpcCall` rejects with;
 * send-family failures carry the send result in the error's `data.response`.
 */
export interface SignalCliApi {
  // Process level and registration (multi-account mode only, except `version`)
  version(o?: CallOptions): Promise<VersionResult>;
  /** Registered accounts only. */
  listAccounts(o?: CallOptions): Promise<AccountEntry[]>;
  /** Default timeout 2 min. */
  startLink(o?: CallOptions): Promise<StartLinkResult>;
  /** Blocks until the phone scans the link; default timeout 10 min. */
  finishLink(params: FinishLinkParams, o?: CallOptions): Promise<FinishLinkResult>;
  /** Default timeout 2 min. */
  register(params: RegisterParams, o?: CallOptions): Promise<EmptyResult>;
  /** Default timeout 2 min. */
  verify(params: VerifyParams, o?: CallOptions): Promise<EmptyResult>;
  deleteLocalAccountData(params: DeleteLocalAccountDataParams, o?: CallOptions): Promise<EmptyResult>;
  unregister(params?: UnregisterParams, o?: CallOptions): Promise<EmptyResult>;

  // Sending
  send(params: SendParams, o?: CallOptions): Promise<SendResult>;
  sendReaction(params: SendReactionParams, o?: CallOptions): Promise<SendResult>;
  sendReceipt(params: SendReceiptParams, o?: CallOptions): Promise<SendResult>;
  sendTyping(params: SendTypingParams, o?: CallOptions): Promise<SendResult>;
  remoteDelete(params: RemoteDeleteParams, o?: CallOptions): Promise<SendResult>;
  sendMessageRequestResponse(params: SendMessageRequestResponseParams, o?: CallOptions): Promise<EmptyResult>;
  sendSyncRequest(params?: AccountParams, o?: CallOptions): Promise<EmptyResult>;
  sendContacts(params?: AccountParams, o?: CallOptions): Promise<EmptyResult>;

  // Groups
  listGroups(params?: ListGroupsParams, o?: CallOptions): Promise<Group[]>;
  updateGroup(params: UpdateGroupParams, o?: CallOptions): Promise<UpdateGroupResult>;
  quitGroup(params: QuitGroupParams, o?: CallOptions): Promise<QuitGroupResult>;
  joinGroup(params: JoinGroupParams, o?: CallOptions): Promise<JoinGroupResult>;

  // Contacts, identities, profile
  listContacts(params?: ListContactsParams, o?: CallOptions): Promise<Contact[]>;
  updateContact(params: UpdateContactParams, o?: CallOptions): Promise<EmptyResult>;
  removeContact(params: RemoveContactParams, o?: CallOptions): Promise<EmptyResult>;
  block(params: BlockParams, o?: CallOptions): Promise<EmptyResult>;
  unblock(params: BlockParams, o?: CallOptions): Promise<EmptyResult>;
  listIdentities(params?: ListIdentitiesParams, o?: CallOptions): Promise<Identity[]>;
  trust(params: TrustParams, o?: CallOptions): Promise<EmptyResult>;
  getUserStatus(params: GetUserStatusParams, o?: CallOptions): Promise<UserStatus[]>;
  updateProfile(params?: UpdateProfileParams, o?: CallOptions): Promise<EmptyResult>;

  // Attachments, avatars, stickers
  getAttachment(params: GetAttachmentParams, o?: CallOptions): Promise<BinaryResult>;
  getAvatar(params: GetAvatarParams, o?: CallOptions): Promise<BinaryResult>;
  getSticker(params: GetStickerParams, o?: CallOptions): Promise<BinaryResult>;
  listStickerPacks(params?: AccountParams, o?: CallOptions): Promise<StickerPack[]>;
  addStickerPack(params: AddStickerPackParams, o?: CallOptions): Promise<EmptyResult>;

  // Devices and account settings
  listDevices(params?: AccountParams, o?: CallOptions): Promise<Device[]>;
  addDevice(params: AddDeviceParams, o?: CallOptions): Promise<EmptyResult>;
  removeDevice(params: RemoveDeviceParams, o?: CallOptions): Promise<EmptyResult>;
  setPin(params: SetPinParams, o?: CallOptions): Promise<EmptyResult>;
  removePin(params?: AccountParams, o?: CallOptions): Promise<EmptyResult>;
  /** Default timeout 2 min. */
  submitRateLimitChallenge(params: SubmitRateLimitChallengeParams, o?: CallOptions): Promise<EmptyResult>;
  updateAccount(params?: UpdateAccountParams, o?: CallOptions): Promise<UpdateAccountResult>;
  updateConfiguration(params?: UpdateConfigurationParams, o?: CallOptions): Promise<EmptyResult>;

  // Receiving (manual receive mode; in on-start mode a subscription duplicates every notification)
  subscribeReceive(params?: SubscribeReceiveParams, o?: CallOptions): Promise<SubscribeReceiveResult>;
  unsubscribeReceive(params: UnsubscribeReceiveParams, o?: CallOptions): Promise<EmptyResult>;

  /**
   * Any method above by name, with the same default timeout, for callers that hold the name as data (REST
   * plans). A name that is not a wrapped method fails with SIG_ERR_RPC_METHOD_NOT_FOUND without a request.
   */
  invoke<T>(method: string, params?: Record<string, unknown>, o?: CallOptions): Promise<T>;
}

/** JSON-RPC method names wrapped by `SignalCliApi` (identical to the property names). */
export type SignalCliMethod = Exclude<keyof SignalCliApi, 'invoke'>;

/**
 * Timeouts applied when the caller gives no `timeoutMs`; other methods use the `RpcCall`'s own default.
 * `finishLink` waits for a human to scan a QR code; the others make several server round-trips.
 */
export const defaultTimeoutsMs: Readonly<Partial<Record<SignalCliMethod, number>>> = Object.freeze({
  finishLink: 10 * 60_000,
  startLink: 2 * 60_000,
  register: 2 * 60_000,
  verify: 2 * 60_000,
  submitRateLimitChallenge: 2 * 60_000,
});

function withoutUndefined(params: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function withDefaultTimeout(method: SignalCliMethod, options: CallOptions | undefined): CallOptions | undefined {
  const timeoutMs = defaultTimeoutsMs[method];
  if (timeoutMs === undefined || options?.timeoutMs !== undefined) return options;
  return { ...options, timeoutMs };
}

export function createSignalCliApi(call: RpcCall): SignalCliApi {
  const invoke = <T>(method: SignalCliMethod, params: object | undefined, options: CallOptions | undefined): Promise<T> =>
    call<T>(method, params === undefined ? undefined : withoutUndefined(params), withDefaultTimeout(method, options));

  const api: SignalCliApi = {
    invoke: <T>(method: string, params?: Record<string, unknown>, o?: CallOptions): Promise<T> => {
      if (!isSignalCliMethod(method)) {
        return Promise.reject(new SigError('SIG_ERR_RPC_METHOD_NOT_FOUND', `${method} is not a signal-cli method this version wraps`));
      }
      return invoke<T>(method, params, o);
    },
    version: (o) => invoke('version', undefined, o),
    listAccounts: (o) => invoke('listAccounts', undefined, o),
    startLink: (o) => invoke('startLink', undefined, o),
    finishLink: (p, o) => invoke('finishLink', p, o),
    register: (p, o) => invoke('register', p, o),
    verify: (p, o) => invoke('verify', p, o),
    deleteLocalAccountData: (p, o) => invoke('deleteLocalAccountData', p, o),
    unregister: (p, o) => invoke('unregister', p, o),

    send: (p, o) => invoke('send', p, o),
    sendReaction: (p, o) => invoke('sendReaction', p, o),
    sendReceipt: (p, o) => invoke('sendReceipt', p, o),
    sendTyping: (p, o) => invoke('sendTyping', p, o),
    remoteDelete: (p, o) => invoke('remoteDelete', p, o),
    sendMessageRequestResponse: (p, o) => invoke('sendMessageRequestResponse', p, o),
    sendSyncRequest: (p, o) => invoke('sendSyncRequest', p, o),
    sendContacts: (p, o) => invoke('sendContacts', p, o),

    listGroups: (p, o) => invoke('listGroups', p, o),
    updateGroup: (p, o) => invoke('updateGroup', p, o),
    quitGroup: (p, o) => invoke('quitGroup', p, o),
    joinGroup: (p, o) => invoke('joinGroup', p, o),

    listContacts: (p, o) => invoke('listContacts', p, o),
    updateContact: (p, o) => invoke('updateContact', p, o),
    removeContact: (p, o) => invoke('removeContact', p, o),
    block: (p, o) => invoke('block', p, o),
    unblock: (p, o) => invoke('unblock', p, o),
    listIdentities: (p, o) => invoke('listIdentities', p, o),
    trust: (p, o) => invoke('trust', p, o),
    getUserStatus: (p, o) => invoke('getUserStatus', p, o),
    updateProfile: (p, o) => invoke('updateProfile', p, o),

    getAttachment: (p, o) => invoke('getAttachment', p, o),
    getAvatar: (p, o) => invoke('getAvatar', p, o),
    getSticker: (p, o) => invoke('getSticker', p, o),
    listStickerPacks: (p, o) => invoke('listStickerPacks', p, o),
    addStickerPack: (p, o) => invoke('addStickerPack', p, o),

    listDevices: (p, o) => invoke('listDevices', p, o),
    addDevice: (p, o) => invoke('addDevice', p, o),
    removeDevice: (p, o) => invoke('removeDevice', p, o),
    setPin: (p, o) => invoke('setPin', p, o),
    removePin: (p, o) => invoke('removePin', p, o),
    submitRateLimitChallenge: (p, o) => invoke('submitRateLimitChallenge', p, o),
    updateAccount: (p, o) => invoke('updateAccount', p, o),
    updateConfiguration: (p, o) => invoke('updateConfiguration', p, o),

    subscribeReceive: (p, o) => invoke('subscribeReceive', p, o),
    unsubscribeReceive: (p, o) => invoke('unsubscribeReceive', p, o),
  };
  const methods = new Set(Object.keys(api).filter((k) => k !== 'invoke'));
  const isSignalCliMethod = (name: string): name is SignalCliMethod => methods.has(name);
  return api;
}

/** The names of the methods `SignalCliApi` wraps (a bounded set, for example for metric labels). */
export const signalCliMethods: ReadonlySet<string> = new Set(
  Object.keys(createSignalCliApi(() => Promise.reject(new Error('unused')))).filter((k) => k !== 'invoke'),
);

/** The deadline a call of `method` gets when its caller gives none: the method's own, else `fallbackMs`. */
export function timeoutForMethod(method: string, fallbackMs: number): number {
  return Object.hasOwn(defaultTimeoutsMs, method) ? defaultTimeoutsMs[method as SignalCliMethod]! : fallbackMs;
}
