// Every REST endpoint upstream serves in json-rpc mode, except Lua plugins and the WebSocket /v1/receive.
// Register them in this order: a path with a literal segment comes before a path that has a parameter in
// the same place (DELETE /v1/devices/{number}/local-data before DELETE /v1/devices/{number}/{deviceId}).
import * as accounts from './endpoints/accounts.ts';
import * as contacts from './endpoints/contacts.ts';
import * as devices from './endpoints/devices.ts';
import * as general from './endpoints/general.ts';
import * as groups from './endpoints/groups.ts';
import * as messages from './endpoints/messages.ts';
import * as polls from './endpoints/polls.ts';
import * as send from './endpoints/send.ts';
import type { Endpoint } from './types.ts';

export const endpoints: ReadonlyArray<Endpoint> = Object.freeze([
  // General
  general.about,
  general.health,
  general.getConfiguration,
  general.setConfiguration,
  general.getTrustMode,
  general.setTrustMode,
  // Registration, linking, devices
  devices.register,
  devices.verify,
  devices.unregister,
  devices.qrCodeLink,
  devices.qrCodeLinkRaw,
  devices.addDevice,
  devices.listDevices,
  devices.deleteLocalAccountData,
  devices.removeDevice,
  // Accounts
  general.listAccounts,
  accounts.rateLimitChallenge,
  accounts.updateAccountSettings,
  accounts.setUsername,
  accounts.removeUsername,
  accounts.setPin,
  accounts.removePin,
  // Messages
  send.sendV1,
  send.sendV2,
  messages.startTyping,
  messages.stopTyping,
  messages.remoteDelete,
  messages.sendReaction,
  messages.removeReaction,
  messages.sendReceipt,
  // Groups
  groups.createGroup,
  groups.listGroups,
  groups.getGroup,
  groups.updateGroup,
  groups.deleteGroup,
  groups.groupAvatar,
  groups.blockGroup,
  groups.joinGroup,
  groups.quitGroup,
  groups.addGroupMembers,
  groups.removeGroupMembers,
  groups.addGroupAdmins,
  groups.removeGroupAdmins,
  groups.pinMessage,
  groups.unpinMessage,
  // Attachments
  general.listAttachments,
  general.getAttachment,
  general.deleteAttachment,
  // Sticker packs
  contacts.listStickerPacks,
  contacts.addStickerPack,
  // Profiles and identities
  contacts.updateProfile,
  contacts.listIdentities,
  contacts.trustIdentity,
  // Search
  contacts.search,
  contacts.searchAnyAccount,
  // Contacts
  contacts.listContacts,
  contacts.updateContact,
  contacts.syncContacts,
  contacts.getContact,
  contacts.contactAvatar,
  // Polls
  polls.createPoll,
  polls.votePoll,
  polls.closePoll,
]);

/** The endpoint with this operationId. */
export function endpointById(id: string): Endpoint | undefined {
  return endpoints.find((e) => e.id === id);
}
