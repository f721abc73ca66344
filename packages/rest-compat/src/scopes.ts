// What an API token needs to call each endpoint (see the gateway's auth.ts for tokens and scopes):
// - `open`: nothing (the health check container runtimes probe);
// - `token`: any valid token (the version clients check before anything else);
// - `send`: sending messages, reactions, receipts, typing indicators, polls, deletions, pinned messages;
// - `receive`: what arrived (attachments in signal-cli's store);
// - `manage`: everything about the account itself: registration, devices, groups, contacts, profiles,
//   identities, settings, sticker packs, search;
// - `admin`: the daemon itself (the runtime log level).
// Every endpoint is listed: a new endpoint without an entry fails the test beside this file.
export type EndpointScope = 'open' | 'token' | 'send' | 'receive' | 'manage' | 'admin';

export const endpointScopes: Readonly<Record<string, EndpointScope>> = {
  getHealth: 'open',
  getAbout: 'token',
  getConfiguration: 'manage',
  setConfiguration: 'admin',
  getAccountSettings: 'manage',
  setAccountSettings: 'manage',
  registerNumber: 'manage',
  verifyNumber: 'manage',
  unregisterNumber: 'manage',
  getQrCodeLink: 'manage',
  getQrCodeLinkRaw: 'manage',
  addDevice: 'manage',
  listDevices: 'manage',
  deleteLocalAccountData: 'manage',
  removeDevice: 'manage',
  getAccounts: 'manage',
  submitRateLimitChallenge: 'manage',
  updateAccountSettings: 'manage',
  setUsername: 'manage',
  removeUsername: 'manage',
  setPin: 'manage',
  removePin: 'manage',
  sendV1: 'send',
  sendV2: 'send',
  sendStartTyping: 'send',
  sendStopTyping: 'send',
  remoteDelete: 'send',
  sendReaction: 'send',
  removeReaction: 'send',
  sendReceipt: 'send',
  createGroup: 'manage',
  getGroups: 'manage',
  getGroup: 'manage',
  updateGroup: 'manage',
  deleteGroup: 'manage',
  getGroupAvatar: 'manage',
  blockGroup: 'manage',
  joinGroup: 'manage',
  quitGroup: 'manage',
  addGroupMembers: 'manage',
  removeGroupMembers: 'manage',
  addGroupAdmins: 'manage',
  removeGroupAdmins: 'manage',
  pinMessage: 'send',
  unpinMessage: 'send',
  getAttachments: 'receive',
  serveAttachment: 'receive',
  removeAttachment: 'receive',
  listInstalledStickerPacks: 'manage',
  addStickerPack: 'manage',
  updateProfile: 'manage',
  listIdentities: 'manage',
  trustIdentity: 'manage',
  searchForNumbers: 'manage',
  searchForNumbersAnyAccount: 'manage',
  listContacts: 'manage',
  updateContact: 'manage',
  sendContacts: 'manage',
  listContact: 'manage',
  getContactAvatar: 'manage',
  createPoll: 'send',
  votePoll: 'send',
  closePoll: 'send',
};

/** The scope an endpoint needs; throws for an endpoint missing from the table. */
export function scopeOf(endpointId: string): EndpointScope {
  const scope = endpointScopes[endpointId];
  if (scope === undefined) throw new Error(`no scope is defined for the endpoint ${endpointId}`);
  return scope;
}
