// The command line signal-cli is started with. Global options must precede the `jsonRpc` subcommand and
// the subcommand's own options follow it (signal-cli 0.13.19, App.java / JsonRpcDispatcherCommand.java).

export type TrustNewIdentities = 'on-first-use' | 'always' | 'never';
export type ReceiveMode = 'on-start' | 'on-connection' | 'manual';

export interface SignalCliArgs {
  /** signal-cli's data directory (`--config`). signal-cli's own default applies when absent. */
  configDir?: string | undefined;
  trustNewIdentities?: TrustNewIdentities | undefined;
  receiveMode?: ReceiveMode | undefined;
  ignoreAttachments?: boolean | undefined;
  ignoreStories?: boolean | undefined;
  sendReadReceipts?: boolean | undefined;
}

export function buildArgs(options: SignalCliArgs): string[] {
  const args: string[] = [];
  if (options.configDir !== undefined) args.push('--config', options.configDir);
  if (options.trustNewIdentities !== undefined) args.push('--trust-new-identities', options.trustNewIdentities);
  args.push('jsonRpc');
  if (options.receiveMode !== undefined) args.push('--receive-mode', options.receiveMode);
  if (options.ignoreAttachments) args.push('--ignore-attachments');
  if (options.ignoreStories) args.push('--ignore-stories');
  if (options.sendReadReceipts) args.push('--send-read-receipts');
  return args;
}
