// Command-line parsing with signal-cli 0.13.19's shape and error texts: global options first, then the
// `jsonRpc` subcommand and its options. Only `jsonRpc` is implemented by the fake.

export type ReceiveMode = 'on-start' | 'on-connection' | 'manual';

export interface CliOptions {
  configDir: string | undefined;
  account: string | undefined;
  verbose: number;
  trustNewIdentities: 'on-first-use' | 'always' | 'never';
  receiveMode: ReceiveMode;
  ignoreAttachments: boolean;
  ignoreStories: boolean;
  sendReadReceipts: boolean;
}

export type ArgvResult =
  | { kind: 'run'; options: CliOptions }
  | { kind: 'exit'; code: number; stdout?: string; stderr?: string };

export const VERSION = '0.13.19';

const COMMANDS =
  'addDevice,addStickerPack,block,daemon,deleteLocalAccountData,finishChangeNumber,getAttachment,getAvatar,getSticker,getUserStatus,joinGroup,jsonRpc,link,listAccounts,listContacts,listDevices,listGroups,listIdentities,listStickerPacks,quitGroup,receive,register,remoteDelete,removeContact,removeDevice,removePin,send,sendContacts,sendMessageRequestResponse,sendPaymentNotification,sendReaction,sendReceipt,sendSyncRequest,sendTyping,setPin,startChangeNumber,submitRateLimitChallenge,trust,unblock,unregister,updateAccount,updateConfiguration,updateContact,updateGroup,updateProfile,uploadStickerPack,verify,version';

const GLOBAL_USAGE = `usage: signal-cli [-h] [--version] [-v] [--log-file LOG_FILE] [--scrub-log]
                  [-c CONFIG] [-a ACCOUNT] [--bus-name GLOBAL-BUS-NAME]
                  [-o {plain-text,json}]
                  [--service-environment {live,staging,sandbox}]
                  [--trust-new-identities {always,on-first-use,never}]
                  [--disable-send-log] [--dbus | --dbus-system]
                  {${COMMANDS}}
                  ...`;

const JSONRPC_USAGE = `usage: signal-cli jsonRpc [-h] [--ignore-attachments] [--ignore-stories]
                  [--send-read-receipts]
                  [--receive-mode {on-start,on-connection,manual}]`;

const KNOWN_COMMANDS = new Set(COMMANDS.split(','));

function usageError(usage: string, message: string): ArgvResult {
  return { kind: 'exit', code: 1, stderr: `${usage}\nsignal-cli: error: ${message}\n` };
}

function choiceError(usage: string, option: string, value: string, choices: string): ArgvResult {
  return {
    kind: 'exit',
    code: 1,
    stderr: `${usage}\nsignal-cli: error:  argument  ${option}:  could  not  convert  '${value}'\n(choose from {${choices}})\n`,
  };
}

/** Splits `--opt=value` and reads the value of an option that takes one. */
function takeValue(args: string[], i: number, inline: string | undefined): { value: string | undefined; next: number } {
  if (inline !== undefined) return { value: inline, next: i + 1 };
  const v = args[i + 1];
  if (v === undefined || (v.startsWith('-') && v.length > 1)) return { value: undefined, next: i + 1 };
  return { value: v, next: i + 2 };
}

export function parseArgv(args: readonly string[]): ArgvResult {
  const argv = [...args];
  const o: CliOptions = {
    configDir: undefined,
    account: undefined,
    verbose: 0,
    trustNewIdentities: 'on-first-use',
    receiveMode: 'on-start',
    ignoreAttachments: false,
    ignoreStories: false,
    sendReadReceipts: false,
  };
  let output = 'json';
  let i = 0;
  let command: string | undefined;

  // Global options, up to the subcommand.
  while (i < argv.length) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      command = arg;
      i++;
      break;
    }
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    if (/^-v+$/.test(name)) {
      o.verbose += name.length - 1;
      i++;
      continue;
    }
    switch (name) {
      case '-h':
      case '--help':
        return { kind: 'exit', code: 0, stdout: `${GLOBAL_USAGE}\n` };
      case '--version':
        return { kind: 'exit', code: 0, stdout: `signal-cli ${VERSION}\n` };
      case '--verbose':
        o.verbose++;
        i++;
        continue;
      case '--scrub-log':
      case '--dbus':
      case '--dbus-system':
      case '--disable-send-log':
        i++;
        continue;
      case '-c':
      case '--config':
      case '-a':
      case '--account':
      case '-u':
      case '--username':
      case '--log-file':
      case '--bus-name':
      case '--service-environment':
      case '-o':
      case '--output':
      case '--trust-new-identities': {
        const { value, next } = takeValue(argv, i, inline);
        if (value === undefined) return usageError(GLOBAL_USAGE, `argument ${name}: expected one argument`);
        i = next;
        if (name === '-c' || name === '--config') o.configDir = value;
        else if (name === '-a' || name === '--account' || name === '-u' || name === '--username') o.account = value;
        else if (name === '--service-environment') {
          if (!['live', 'staging', 'sandbox'].includes(value)) return choiceError(GLOBAL_USAGE, name, value, 'live,staging,sandbox');
        } else if (name === '-o' || name === '--output') {
          if (value !== 'json' && value !== 'plain-text') return choiceError(GLOBAL_USAGE, name, value, 'plain-text,json');
          output = value;
        } else if (name === '--trust-new-identities') {
          if (value !== 'on-first-use' && value !== 'always' && value !== 'never') {
            return choiceError(GLOBAL_USAGE, name, value, 'always,on-first-use,never');
          }
          o.trustNewIdentities = value;
        }
        continue;
      }
      default:
        return usageError(GLOBAL_USAGE, `unrecognized arguments: '${arg}'`);
    }
  }

  if (command === undefined) return usageError(GLOBAL_USAGE, 'too few arguments');
  if (!KNOWN_COMMANDS.has(command)) {
    return usageError(GLOBAL_USAGE, `invalid choice: '${command}' (choose from ${COMMANDS.split(',').map((c) => `'${c}'`).join(', ')})`);
  }
  if (command !== 'jsonRpc') {
    return { kind: 'exit', code: 2, stderr: `fake signal-cli implements only the jsonRpc command, not ${command}\n` };
  }

  while (i < argv.length) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    switch (name) {
      case '-h':
      case '--help':
        return { kind: 'exit', code: 0, stdout: `${JSONRPC_USAGE}\n` };
      case '--ignore-attachments':
        o.ignoreAttachments = true;
        i++;
        continue;
      case '--ignore-stories':
        o.ignoreStories = true;
        i++;
        continue;
      case '--send-read-receipts':
        o.sendReadReceipts = true;
        i++;
        continue;
      case '--receive-mode': {
        const { value, next } = takeValue(argv, i, inline);
        if (value === undefined) return usageError(JSONRPC_USAGE, 'argument --receive-mode: expected one argument');
        if (value !== 'on-start' && value !== 'on-connection' && value !== 'manual') {
          return choiceError(JSONRPC_USAGE, '--receive-mode', value, 'on-start,on-connection,manual');
        }
        o.receiveMode = value;
        i = next;
        continue;
      }
      default:
        return usageError(JSONRPC_USAGE, `unrecognized arguments: '${argv.slice(i).join(' ')}'`);
    }
  }

  if (output !== 'json') {
    return { kind: 'exit', code: 1, stderr: `Command doesn't support output type ${output}\n` };
  }
  return { kind: 'run', options: o };
}
