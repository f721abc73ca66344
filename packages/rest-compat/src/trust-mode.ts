// signal-cli-rest-api's `trust_mode: always` for an account: a send that fails (wholly or for some recipients)
// because a recipient's safety number changed trusts the changed identities. A wholly failed send is sent
// again once; a partly delivered one reports the failures and the next message goes through. signal-cli's own
// `--trust-new-identities always` does this for the whole process; this does it per account.
import { isSigError } from '@signal-broker/errors';
import type { TrustMode } from './types.ts';
import { untrustedRecipients } from './mappers.ts';

/** signal-cli methods whose failures can be identity failures. */
const SEND_FAMILY = new Set(['send', 'sendReaction', 'sendReceipt', 'sendTyping', 'remoteDelete']);

export type Invoke<O> = (method: string, params: Record<string, unknown>, options: O) => Promise<unknown>;

export interface TrustModeOptions<O> {
  /** Runs one signal-cli call (params include `account`). */
  invoke: Invoke<O>;
  trustModeOf: (account: string) => TrustMode;
  /** Called after each identity trusted. */
  onTrusted?: (account: string) => void;
  /** Called when trusting failed; the send's own error is what the caller gets. */
  onTrustFailed?: (account: string, err: unknown) => void;
}

/** An account call runner that applies each account's trust mode to send-family calls. */
export function withTrustMode<O>(options: TrustModeOptions<O>): (account: string, method: string, params: Record<string, unknown> | undefined, callOptions: O) => Promise<unknown> {
  const { invoke } = options;
  const trustAll = async (account: string, recipients: string[], callOptions: O) => {
    for (const recipient of recipients) {
      await invoke('trust', { account, recipient, trustAllKnownKeys: true }, callOptions);
      options.onTrusted?.(account);
    }
  };
  return async (account, method, params, callOptions) => {
    const withAccount = { ...params, account };
    if (!SEND_FAMILY.has(method) || options.trustModeOf(account) !== 'always') return invoke(method, withAccount, callOptions);
    try {
      const result = await invoke(method, withAccount, callOptions);
      // Partly delivered: trust the changed identities for the next message; this one reports them.
      await trustAll(account, untrustedRecipients(result), callOptions);
      return result;
    } catch (err) {
      if (!isSigError(err, 'SIG_ERR_SIGNAL_UNTRUSTED_IDENTITY')) throw err;
      const untrusted = untrustedRecipients(err.data);
      if (untrusted.length === 0) throw err;
      try {
        await trustAll(account, untrusted, callOptions);
      } catch (trustErr) {
        // The client asked to send; tell it why the send failed, not why the trust call did.
        options.onTrustFailed?.(account, trustErr);
        throw err;
      }
      return invoke(method, withAccount, callOptions);
    }
  };
}
