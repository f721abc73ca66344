// The REST endpoints the daemon answers itself rather than with a signal-cli call.
import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Broker } from '@signal-broker/broker';
import { SigError } from '@signal-broker/errors';
import type { LocalAction } from '@signal-broker/rest-compat';
import type { StartLinkResult } from '@signal-broker/signal-cli';
import type { Logger } from 'pino';
import { DAEMON_VERSION } from '../config.ts';
import type { AccountSettingsStore } from './account-settings.ts';

export interface LocalActionDeps {
  version: string;
  signalCliConfigDir: string;
  rootLogger: Logger;
  settings: AccountSettingsStore;
  broker: Broker;
  /** Re-read signal-cli's accounts (after a device link finished). */
  refreshAccounts: () => Promise<void>;
  /** Device link sessions (startLink until its finishLink settles) open at once; beyond it, 429 SIG_ERR_LINK_BUSY. */
  maxLinkSessions: number;
}

export function createLocalActions(deps: LocalActionDeps): (action: LocalAction) => Promise<unknown> {
  const log = deps.rootLogger.child({ component: 'rest' });
  let openLinkSessions = 0;
  const attachments = join(deps.signalCliConfigDir, 'attachments');
  const attachmentPath = (id: string) => {
    // rest-compat admits plain file names only; refuse anything that could leave the folder anyway.
    if (id.includes('/') || id.includes('\\') || id === '.' || id === '..' || id.includes('\0')) {
      throw new SigError('SIG_ERR_HTTP_BAD_REQUEST', 'attachment: not a plain file name');
    }
    return join(attachments, id);
  };
  const knownAccount = (account: string) => {
    if (!deps.broker.hasAccount(account)) throw new SigError('SIG_ERR_ACCOUNT_UNKNOWN', `account ${account} is not registered in signal-cli`);
  };

  return async (action) => {
    switch (action.type) {
      case 'about':
        return { version: deps.version, daemonVersion: DAEMON_VERSION };
      case 'health':
        return null;
      case 'getConfiguration':
        return { logLevel: deps.rootLogger.level };
      case 'setConfiguration':
        deps.rootLogger.level = action.logLevel;
        log.info({ level: action.logLevel }, 'log level changed');
        return null;
      case 'listAttachments':
        try {
          return (await readdir(attachments, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
          throw err;
        }
      case 'getAttachment':
        try {
          return await readFile(attachmentPath(action.id));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
          throw err;
        }
      case 'deleteAttachment':
        try {
          await unlink(attachmentPath(action.id));
          return true;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
          throw err;
        }
      case 'getAccountSettings':
        knownAccount(action.account);
        return deps.settings.get(action.account);
      case 'setAccountSettings':
        knownAccount(action.account);
        deps.settings.set(action.account, { trustMode: action.trustMode });
        log.info({ trustMode: action.trustMode }, 'account trust mode changed');
        return null;
      case 'startLinkQr': {
        if (openLinkSessions >= deps.maxLinkSessions) {
          throw new SigError('SIG_ERR_LINK_BUSY', `${deps.maxLinkSessions} device link sessions are open; try again when one has finished`, {
            details: { maxLinkSessions: deps.maxLinkSessions },
          });
        }
        // A session holds its slot from startLink until finishLink settles.
        openLinkSessions++;
        let link: StartLinkResult;
        try {
          link = await deps.broker.callUnscoped<StartLinkResult>('startLink');
        } catch (err) {
          openLinkSessions--;
          throw err;
        }
        // finishLink blocks until the phone scans the code (or signal-cli gives up); the answer goes out now.
        deps.broker
          .callUnscoped('finishLink', { deviceLinkUri: link.deviceLinkUri, deviceName: action.deviceName })
          .then(
            () => {
              log.info({ deviceName: action.deviceName }, 'device linked');
              void deps.refreshAccounts();
            },
            (err: unknown) => log.warn({ err, deviceName: action.deviceName }, 'device link did not finish'),
          )
          .finally(() => openLinkSessions--);
        return link;
      }
    }
  };
}
