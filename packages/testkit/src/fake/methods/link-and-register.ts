// Multi-account commands: version, listAccounts, startLink/finishLink (device linking), and the
// registration commands register/verify/deleteLocalAccountData.
import { randomBytes, randomInt } from 'node:crypto';
import { join } from 'node:path';
import { VERSION } from '../argv.ts';
import { readAccountEntries } from '../config-dir.ts';
import type { Call, MethodSpec } from '../context.ts';
import { ioError, javaException, npe, userError } from '../rpc.ts';

/** How long the offline startLink takes to fail (the real one: 0.5–1.2 s). */
const LINK_FAILURE_DELAY_MS = 500;

async function startLink(call: Call): Promise<unknown> {
  const { ctx } = call;
  if (!ctx.scenario.linkSucceeds) {
    // With an explicit methodDelays.startLink the generic delay has already been applied.
    if (ctx.scenario.methodDelays?.startLink === undefined) await ctx.sleep(LINK_FAILURE_DELAY_MS);
    // SIGTERM interrupts the link request; the real program answers with this wrapped interrupt.
    if (ctx.shutdownSignal.aborted) throw javaException('java.lang.InterruptedException', 'AssertionError');
    throw ioError('Link request error: Connection closed!');
  }
  const uuid = encodeURIComponent(randomBytes(16).toString('base64').replace(/=+$/, ''));
  const pubKey = encodeURIComponent(Buffer.concat([Buffer.from([5]), randomBytes(32)]).toString('base64').replace(/=+$/, ''));
  const uri = `sgnl://linkdevice?uuid=${uuid}&pub_key=${pubKey}`;
  ctx.linkUris.add(uri);
  return { deviceLinkUri: uri };
}

function finishLink(call: Call): unknown {
  const { ctx } = call;
  if (call.node === undefined) {
    throw npe('Cannot invoke "org.asamk.signal.commands.FinishLinkCommand$FinishLinkParams.deviceLinkUri()" because "request" is null');
  }
  const uri = call.params.text('deviceLinkUri');
  call.params.text('deviceName');
  if (uri === undefined) throw userError('Missing deviceLinkUri.');
  // java.net.URI rejects these characters; anything else parses and is then looked up.
  if (/[\s"<>\\^`{|}]/.test(uri)) throw userError('Invalid device link uri.');
  if (!ctx.linkUris.has(uri)) throw userError('Unknown device link uri.');
  const number = ctx.scenario.linkNumber ?? `+1555555${String(randomInt(1000, 10000))}`;
  if (ctx.getAccount(number)) {
    const entry = readAccountEntries(ctx.configDir).find((e) => e.number === number);
    const path = join(ctx.configDir, 'data', entry?.path ?? number);
    throw userError(`The user ${number} already exists\nDelete "${path}" before trying again.`);
  }
  ctx.linkUris.delete(uri);
  ctx.addAccount(number);
  return { number };
}

function accountNumber(call: Call): string {
  const n = call.registrationNumber;
  if (n === undefined) throw new Error('registration call without a number');
  return n;
}

function register(call: Call): unknown {
  call.params.bool('voice');
  call.params.text('captcha');
  call.params.bool('reregister');
  call.ctx.pendingRegistrations.add(accountNumber(call));
  return {};
}

function verify(call: Call): unknown {
  const { ctx } = call;
  const number = accountNumber(call);
  if (!ctx.pendingRegistrations.has(number)) {
    throw npe('Parameter specified as non-null is null: method org.whispersystems.signalservice.api.registration.RegistrationApi.verifyAccount, parameter sessionId');
  }
  if (call.params.text('verificationCode') === undefined) {
    throw npe('Cannot invoke "String.replace(java.lang.CharSequence, java.lang.CharSequence)" because "verificationCode" is null');
  }
  call.params.text('pin');
  ctx.pendingRegistrations.delete(number);
  ctx.addAccount(number);
  return {};
}

function deleteLocalAccountData(call: Call): unknown {
  call.ctx.pendingRegistrations.delete(accountNumber(call));
  return {};
}

export const linkAndRegisterMethods: Record<string, MethodSpec> = {
  version: { scope: 'both', handler: (call) => ({ version: call.ctx.scenario.version ?? VERSION }) },
  listAccounts: { scope: 'multi', handler: (call) => call.ctx.accountList().map((a) => ({ number: a.number })) },
  // startLink takes no params and never reads them (even an array is accepted).
  startLink: { scope: 'multi', params: 'any', handler: startLink },
  finishLink: {
    scope: 'multi',
    params: { className: 'org.asamk.signal.commands.FinishLinkCommand$FinishLinkParams', known: ['deviceName', 'deviceLinkUri'] },
    handler: finishLink,
  },
  register: {
    scope: 'registration',
    params: { className: 'org.asamk.signal.commands.RegisterCommand$RegistrationParams', known: ['voice', 'reregister', 'captcha'] },
    handler: register,
  },
  verify: {
    scope: 'registration',
    params: { className: 'org.asamk.signal.commands.VerifyCommand$VerifyParams', known: ['verificationCode', 'pin'] },
    handler: verify,
  },
  deleteLocalAccountData: {
    scope: 'registration',
    params: { className: 'org.asamk.signal.commands.DeleteLocalAccountDataCommand$DeleteLocalAccountDataParams', known: ['ignoreRegistered'] },
    handler: deleteLocalAccountData,
  },
};
