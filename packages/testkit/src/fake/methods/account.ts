// Account-scoped housekeeping: profile, configuration, PIN, devices, sticker packs, attachments and
// avatars, sync requests, rate-limit challenges, number change, unregister.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Call, MethodSpec } from '../context.ts';
import { accountOf } from '../context.ts';
import { ioError, missingInt, npe, userError } from '../rpc.ts';
import { parseGroupId, parseNumber } from './recipients.ts';

const ok = (): unknown => ({});

/** Synthetic content for the attachment ids used by the notification fixtures. */
const FIXTURE_ATTACHMENTS: Record<string, string> = {
  'Xyz123AbC.jpg': 'fake jpeg photo.jpg',
  'Q9w8E7r6.pdf': 'fake pdf document',
  'StoryImg1.jpg': 'fake story image',
};

function getAttachment(call: Call): unknown {
  const id = call.params.string('id');
  if (id === undefined) throw npe('Cannot invoke "String.contains(java.lang.CharSequence)" because "id" is null');
  call.params.string('recipient');
  call.params.string('group-id');
  try {
    if (id.includes('/') || id.includes('..')) throw new Error('bad id');
    return { data: readFileSync(join(call.ctx.configDir, 'attachments', id)).toString('base64') };
  } catch {
    // With --ignore-attachments nothing is downloaded, so only files already on disk exist.
    const synthetic = call.ctx.options.ignoreAttachments ? undefined : FIXTURE_ATTACHMENTS[id];
    if (synthetic !== undefined) return { data: Buffer.from(synthetic).toString('base64') };
    throw userError(`Could not find attachment with ID: ${id}`);
  }
}

function getAvatar(call: Call): unknown {
  const account = accountOf(call);
  const p = call.params;
  const contact = p.string('contact');
  const profile = p.string('profile');
  const groupId = p.string('group-id');
  let file: string | undefined;
  if (contact !== undefined) file = `contact-${parseNumber(contact, account.number)}`;
  else if (profile !== undefined) file = `profile-${parseNumber(profile, account.number)}`;
  else if (groupId !== undefined) file = `group-${parseGroupId(groupId).replace(/\//g, '_').replace(/\+/g, '-')}`;
  if (file === undefined) throw userError('Could not find avatar');
  try {
    return { data: readFileSync(join(call.ctx.configDir, 'avatars', file)).toString('base64') };
  } catch {
    throw userError('Could not find avatar');
  }
}

function getSticker(call: Call): unknown {
  const packId = call.params.string('pack-id') ?? '';
  const stickerId = call.params.int('sticker-id');
  if (stickerId === undefined) throw missingInt();
  try {
    return { data: readFileSync(join(call.ctx.configDir, 'stickers', packId, String(stickerId))).toString('base64') };
  } catch {
    throw userError(`Could not find sticker with ID: ${stickerId} in pack StickerPackId{${packId}}`);
  }
}

function updateAccount(call: Call): unknown {
  const account = accountOf(call);
  const p = call.params;
  p.string('device-name');
  p.bool('unrestricted-unidentified-sender');
  p.bool('discoverable-by-number');
  p.bool('number-sharing');
  const username = p.string('username');
  if (p.bool('delete-username') === true) {
    account.username = null;
    return {};
  }
  if (username === undefined) return {};
  account.username = username.includes('.') ? username : `${username}.${String(10 + (Date.now() % 90))}`;
  return {
    username: account.username,
    usernameLink: `https://signal.me/#eu/${randomBytes(48).toString('base64url')}`,
  };
}

function setPin(call: Call): unknown {
  if (call.params.string('pin') === undefined) throw npe('Cannot invoke "String.length()" because "pin" is null');
  return {};
}

function listDevices(call: Call): unknown {
  return accountOf(call).devices;
}

function addDevice(call: Call): unknown {
  const account = accountOf(call);
  const uri = call.params.string('uri');
  if (uri === undefined) throw npe('Cannot invoke "String.length()" because "uri" is null');
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(uri);
  if (!scheme) throw userError(`Device link uri has invalid format: Expected scheme name at index 0: ${uri}`);
  let query: URLSearchParams;
  try {
    query = new URL(uri).searchParams;
  } catch {
    throw userError('Invalid device link');
  }
  const pubKey = query.get('pub_key');
  const uuid = query.get('uuid');
  if (!uri.startsWith('sgnl://linkdevice') || !uuid || !pubKey || Buffer.from(pubKey, 'base64').length !== 33) {
    call.ctx.stderr('INFO  AddDeviceCommand - Invalid device link');
    throw userError('Invalid device link');
  }
  account.addDevice(null);
  return {};
}

function removeDevice(call: Call): unknown {
  const account = accountOf(call);
  const id = call.params.int('device-id');
  if (id === undefined) throw missingInt();
  const i = account.devices.findIndex((d) => d.id === id);
  if (i < 0 || id === 1) throw ioError('Error while removing device: [404] Not Found');
  account.devices.splice(i, 1);
  return {};
}

function addStickerPack(call: Call): unknown {
  const account = accountOf(call);
  for (const uri of call.params.stringList('uri')) {
    const m = /[#?&]pack_id=([0-9a-fA-F]+)&pack_key=([0-9a-fA-F]+)/.exec(uri);
    if (!m) throw userError(`Sticker pack link is invalid: ${uri}`);
    const packId = m[1]!.toLowerCase();
    if (account.stickerPacks.some((s) => s.packId === packId)) continue;
    account.stickerPacks.push({
      packId,
      url: `https://signal.art/addstickers/#pack_id=${packId}&pack_key=${m[2]!.toLowerCase()}`,
      installed: true,
      title: null,
      author: null,
      cover: null,
      stickers: [],
    });
  }
  return {};
}

function uploadStickerPack(call: Call): unknown {
  const path = call.params.string('path');
  if (path === undefined) throw npe('Cannot invoke "String.length()" because "path" is null');
  try {
    readFileSync(path);
  } catch {
    throw ioError(`Upload error (maybe image size too large):${path} (No such file or directory)`);
  }
  return { url: `https://signal.art/addstickers/#pack_id=${randomBytes(16).toString('hex')}&pack_key=${randomBytes(32).toString('hex')}` };
}

function submitRateLimitChallenge(call: Call): unknown {
  const p = call.params;
  if (p.string('challenge') === undefined || p.string('captcha') === undefined) {
    throw npe('Cannot invoke "String.replace(java.lang.CharSequence, java.lang.CharSequence)" because "captcha" is null');
  }
  return {};
}

function changeNumber(call: Call): unknown {
  const number = call.params.string('number');
  if (number === undefined) throw npe('Cannot invoke "String.startsWith(String)" because "number" is null');
  return {};
}

export const accountMethods: Record<string, MethodSpec> = {
  updateProfile: { scope: 'account', handler: ok },
  updateConfiguration: { scope: 'account', handler: ok },
  updateAccount: { scope: 'account', handler: updateAccount },
  setPin: { scope: 'account', handler: setPin },
  removePin: { scope: 'account', handler: ok },
  listDevices: { scope: 'account', handler: listDevices },
  addDevice: { scope: 'account', handler: addDevice },
  removeDevice: { scope: 'account', handler: removeDevice },
  listStickerPacks: { scope: 'account', handler: (call) => accountOf(call).stickerPacks },
  addStickerPack: { scope: 'account', handler: addStickerPack },
  uploadStickerPack: { scope: 'account', handler: uploadStickerPack },
  getAttachment: { scope: 'account', handler: getAttachment },
  getAvatar: { scope: 'account', handler: getAvatar },
  getSticker: { scope: 'account', handler: getSticker },
  sendSyncRequest: { scope: 'account', handler: ok },
  sendContacts: { scope: 'account', handler: ok },
  submitRateLimitChallenge: { scope: 'account', handler: submitRateLimitChallenge },
  startChangeNumber: { scope: 'account', handler: changeNumber },
  finishChangeNumber: { scope: 'account', handler: changeNumber },
  unregister: { scope: 'account', handler: ok },
};
