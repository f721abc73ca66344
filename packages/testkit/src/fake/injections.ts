// Errors scripted through the control channel: explicit `{code, message, data}` or named presets that
// reproduce the real program's failure shapes (§4 of the protocol reference).
import type { Call } from './context.ts';
import { SEND_FAMILY } from './methods/messaging.ts';
import { parseRecipient, resolveTargets, sendResults, type SendResultEntry } from './methods/recipients.ts';
import { FIXTURE_CONTACT } from '../fixtures.ts';
import { INTERNAL_ERROR, IO_ERROR, RATELIMIT_ERROR, RpcError, UNTRUSTED_KEY_ERROR, USER_ERROR } from './rpc.ts';

export const PRESETS = ['networkFailure', 'unregistered', 'untrusted', 'rateLimit', 'io', 'internal'] as const;
export type PresetName = (typeof PRESETS)[number];

export interface InjectedError {
  code: number;
  message: string;
  data?: unknown;
}

export interface Injection {
  error?: InjectedError;
  preset?: PresetName;
  token?: string;
  retryAfterSeconds?: number;
  /** Calls left; -1 = every call. */
  remaining: number;
}

export class Injections {
  private readonly byMethod = new Map<string, Injection[]>();

  add(method: string, injection: Injection): void {
    const list = this.byMethod.get(method) ?? [];
    list.push(injection);
    this.byMethod.set(method, list);
  }

  /** The injection for this call, if any (consumes one use). */
  take(method: string): Injection | undefined {
    const list = this.byMethod.get(method);
    const first = list?.[0];
    if (!list || !first) return undefined;
    if (first.remaining > 0 && --first.remaining === 0) list.shift();
    if (list.length === 0) this.byMethod.delete(method);
    return first;
  }

  clear(method?: string): void {
    if (method === undefined) this.byMethod.clear();
    else this.byMethod.delete(method);
  }

  snapshot(): Record<string, Array<Omit<Injection, 'remaining'> & { remaining: number }>> {
    return Object.fromEntries([...this.byMethod].map(([m, l]) => [m, l.map((i) => ({ ...i }))]));
  }
}

/** The -3 message the real program gives when the server is unreachable, per method. */
const IO_MESSAGES: Record<string, string> = {
  startLink: 'Link request error: Connection closed!',
  finishLink: 'Link request error: Connection closed!',
  register: 'Failed to register: java.net.UnknownHostException: chat.signal.org: Name or service not known (PushNetworkException)',
  verify: 'Verify error: java.net.UnknownHostException: chat.signal.org (PushNetworkException)',
  updateProfile: 'Update profile error: Closed unexpectedly',
  setPin: 'Set pin error: No connection!',
  removePin: 'Remove pin error: Closed unexpectedly',
  getUserStatus: 'Unable to check if users are registered: No connection! (IOException)',
  listDevices: 'Failed to get linked devices: No connection!',
  removeDevice: 'Error while removing device: No connection!',
  addDevice: 'Add device link failed',
  sendContacts: 'SendContacts error: No connection!',
  submitRateLimitChallenge: 'Submit challenge error: No connection!',
  updateAccount: 'UpdateAccount error: No connection!',
  startChangeNumber: 'Failed to change number: java.net.UnknownHostException: chat.signal.org (PushNetworkException)',
  addStickerPack: 'Install sticker pack failed',
  uploadStickerPack: 'Upload error (maybe image size too large):No connection!',
};

const GROUP_SEND_FAILURE = 'Failed to send message: java.io.IOException: No connection! (IOException) (UnexpectedErrorException)';

/** Results of the call's recipients (or Alice when the call names none) with the given failure type. */
function failedResults(call: Call, type: string, extra: Partial<SendResultEntry> = {}): SendResultEntry[] {
  let results: SendResultEntry[] = [];
  if (call.account) {
    try {
      const recipient = call.params.raw.recipient;
      const targets =
        call.method === 'sendReceipt' && typeof recipient === 'string'
          ? { noteToSelf: false, singles: [parseRecipient(call.account, recipient)], groups: [] }
          : resolveTargets(call);
      results = sendResults(call.account, targets, type);
    } catch {
      results = [];
    }
  }
  if (results.length === 0) {
    results = [{ recipientAddress: { uuid: FIXTURE_CONTACT.uuid, number: FIXTURE_CONTACT.number, username: null }, type }];
  }
  return results.map((r) => ({ ...r, ...extra }));
}

function sendFailure(call: Call, code: number, message: string, results: SendResultEntry[]): RpcError {
  const timestamp = call.account?.nextTimestamp() ?? Date.now();
  return new RpcError(code, message, { response: { timestamp, results } });
}

function firstNumber(call: Call): string {
  const r = call.params.raw.recipient;
  const first = Array.isArray(r) ? r[0] : r;
  return typeof first === 'string' ? first : FIXTURE_CONTACT.number;
}

/** Builds the error an injection produces for this call. */
export function injectedError(injection: Injection, call: Call): RpcError {
  if (injection.error) return new RpcError(injection.error.code, injection.error.message, injection.error.data ?? null);
  const method = call.method;
  const sendFamily = SEND_FAMILY.has(method);
  const groupCall = call.params.list('group-id').length > 0 || method === 'updateGroup' || method === 'quitGroup';
  switch (injection.preset) {
    case 'networkFailure':
      if (sendFamily && !groupCall) return sendFailure(call, USER_ERROR, 'Failed to send message', failedResults(call, 'NETWORK_FAILURE'));
      if (sendFamily || groupCall) return new RpcError(INTERNAL_ERROR, GROUP_SEND_FAILURE);
      return new RpcError(IO_ERROR, IO_MESSAGES[method] ?? 'No connection!');
    case 'unregistered':
      if (sendFamily) {
        const results = failedResults(call, 'UNREGISTERED_FAILURE').map((r) => ({ ...r, recipientAddress: { ...r.recipientAddress, uuid: null } }));
        return sendFailure(call, USER_ERROR, 'Failed to send message', results);
      }
      return new RpcError(USER_ERROR, `The user ${firstNumber(call)} is not registered.`);
    case 'untrusted':
      return sendFailure(call, UNTRUSTED_KEY_ERROR, 'Failed to send message due to untrusted identities', failedResults(call, 'IDENTITY_FAILURE'));
    case 'rateLimit':
      if (method === 'register' || method === 'startChangeNumber' || method === 'getUserStatus') {
        return new RpcError(RATELIMIT_ERROR, 'Rate limit reached');
      }
      return sendFailure(
        call,
        RATELIMIT_ERROR,
        'Failed to send message due to rate limiting',
        failedResults(call, 'RATE_LIMIT_FAILURE', {
          token: injection.token ?? '9e0c8b5a-5a8e-4f0e-9d55-2a61c7e3b1f4',
          retryAfterSeconds: injection.retryAfterSeconds ?? 86400,
        }),
      );
    case 'io':
      return new RpcError(IO_ERROR, IO_MESSAGES[method] ?? 'No connection!');
    case 'internal':
      return new RpcError(
        INTERNAL_ERROR,
        sendFamily || groupCall ? GROUP_SEND_FAILURE : `${method} failed: java.io.IOException: No connection! (IOException) (UnexpectedErrorException)`,
      );
    default:
      return new RpcError(INTERNAL_ERROR, 'injected error without preset');
  }
}
