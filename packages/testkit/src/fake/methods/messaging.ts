// The send family: send, sendReaction, sendReceipt, sendTyping, remoteDelete, sendPaymentNotification,
// sendMessageRequestResponse. All succeed (type SUCCESS) unless an error is injected through the control
// channel; validation follows the real commands.
import type { Call, MethodSpec } from '../context.ts';
import { accountOf } from '../context.ts';
import { javaException, missingIdentifier, missingLong, npe, userError } from '../rpc.ts';
import { findGroup, parseRecipient, resolveTargets, sendResults, type Targets } from './recipients.ts';

function sendResult(call: Call, targets: Targets): { timestamp: number; results: unknown[] } {
  const account = accountOf(call);
  for (const id of targets.groups) findGroup(account, id);
  return { timestamp: account.nextTimestamp(), results: sendResults(account, targets, 'SUCCESS') };
}

function send(call: Call): unknown {
  const p = call.params;
  p.bool('notify-self');
  const targets = resolveTargets(call);
  if (p.bool('end-session') === true) return sendResult(call, targets);
  const sticker = p.string('sticker');
  if (sticker !== undefined && !/^[0-9a-fA-F]+:\d+$/.test(sticker)) {
    throw userError(`Invalid sticker syntax (${sticker}) expected 'stickerPackId:stickerId'`);
  }
  const message = p.string('message') ?? '';
  const attachments = p.stringList('attachment');
  if (message === '' && attachments.length === 0 && sticker === undefined) {
    throw userError('Sending empty message is not allowed, either a message, attachment or sticker must be given.');
  }
  p.stringList('mention');
  p.stringList('text-style');
  if (p.long('quote-timestamp') !== undefined && p.string('quote-author') === undefined) {
    throw userError('Quote author parameter is missing');
  }
  p.long('edit-timestamp');
  p.long('story-timestamp');
  return sendResult(call, targets);
}

function sendReaction(call: Call): unknown {
  const p = call.params;
  const targets = resolveTargets(call);
  const emoji = p.string('emoji');
  p.bool('remove');
  p.bool('story');
  const author = p.string('target-author');
  const timestamp = p.long('target-timestamp');
  if (emoji === undefined) throw npe('Cannot invoke "String.length()" because "emoji" is null');
  if (author === undefined) throw missingIdentifier();
  if (timestamp === undefined) throw missingLong();
  parseRecipient(accountOf(call), author);
  return sendResult(call, targets);
}

function sendReceipt(call: Call): unknown {
  const p = call.params;
  const recipient = p.string('recipient');
  if (recipient === undefined) throw missingIdentifier();
  const address = parseRecipient(accountOf(call), recipient);
  p.longList('target-timestamp');
  const type = p.string('type') ?? 'read';
  if (type !== 'read' && type !== 'viewed') throw userError(`Unknown receipt type: ${type}`);
  return sendResult(call, { noteToSelf: false, singles: [address], groups: [] });
}

function sendTyping(call: Call): unknown {
  call.params.bool('stop');
  return sendResult(call, resolveTargets(call, { allowNoteToSelf: false }));
}

function remoteDelete(call: Call): unknown {
  if (call.params.long('target-timestamp') === undefined) throw missingLong();
  return sendResult(call, resolveTargets(call));
}

function sendPaymentNotification(call: Call): unknown {
  const p = call.params;
  const recipient = p.string('recipient');
  if (recipient === undefined) throw missingIdentifier();
  const address = parseRecipient(accountOf(call), recipient);
  const receipt = p.string('receipt');
  if (receipt === undefined) throw npe('Cannot invoke "String.length()" because "src" is null');
  p.string('note');
  return sendResult(call, { noteToSelf: false, singles: [address], groups: [] });
}

function sendMessageRequestResponse(call: Call): unknown {
  const type = call.params.string('type');
  resolveTargets(call, { allowNoteToSelf: false });
  if (type === undefined) throw npe('Cannot invoke "String.toUpperCase()" because "type" is null');
  const upper = type.toUpperCase();
  if (upper !== 'ACCEPT' && upper !== 'DELETE') {
    throw javaException(`No enum constant org.asamk.signal.commands.MessageRequestResponseType.${upper}`, 'IllegalArgumentException');
  }
  return {};
}

export const messagingMethods: Record<string, MethodSpec> = {
  send: { scope: 'account', handler: send },
  sendReaction: { scope: 'account', handler: sendReaction },
  sendReceipt: { scope: 'account', handler: sendReceipt },
  sendTyping: { scope: 'account', handler: sendTyping },
  remoteDelete: { scope: 'account', handler: remoteDelete },
  sendPaymentNotification: { scope: 'account', handler: sendPaymentNotification },
  sendMessageRequestResponse: { scope: 'account', handler: sendMessageRequestResponse },
};

/** Methods whose failures carry `data.response` with per-recipient results. */
export const SEND_FAMILY = new Set(['send', 'sendReaction', 'sendReceipt', 'sendTyping', 'remoteDelete', 'sendPaymentNotification']);
