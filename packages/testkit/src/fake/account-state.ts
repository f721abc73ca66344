// In-memory state of one account: recipients/contacts, identities, groups, devices, sticker packs. Shapes
// returned to clients follow signal-cli's Json* records (all members present, nulls explicit).
import { createHash, randomBytes } from 'node:crypto';
import { uuidForNumber } from './config-dir.ts';

export interface Address {
  uuid: string | null;
  number: string | null;
  username: string | null;
}

export interface Recipient {
  number: string;
  uuid: string;
  username: string | null;
  /** Has a contact record (set by updateContact or contact sync); listContacts shows only these by default. */
  isContact: boolean;
  givenName: string | null;
  familyName: string | null;
  nickGivenName: string | null;
  nickFamilyName: string | null;
  note: string | null;
  isBlocked: boolean;
  isHidden: boolean;
  messageExpirationTime: number;
  profileSharing: boolean;
  profileTimestamp: number;
  trustLevel: 'UNTRUSTED' | 'TRUSTED_UNVERIFIED' | 'TRUSTED_VERIFIED';
  identityAdded: number;
}

export interface GroupMember {
  number: string;
  uuid: string;
}

export interface Group {
  id: string;
  name: string | null;
  description: string | null;
  isMember: boolean;
  isBlocked: boolean;
  messageExpirationTime: number;
  members: GroupMember[];
  pendingMembers: GroupMember[];
  requestingMembers: GroupMember[];
  admins: GroupMember[];
  banned: GroupMember[];
  permissionAddMember: 'EVERY_MEMBER' | 'ONLY_ADMINS';
  permissionEditDetails: 'EVERY_MEMBER' | 'ONLY_ADMINS';
  permissionSendMessage: 'EVERY_MEMBER' | 'ONLY_ADMINS';
  groupInviteLink: string | null;
}

export interface Device {
  id: number;
  name: string | null;
  createdTimestamp: number;
  lastSeenTimestamp: number;
}

export interface StickerPack {
  packId: string;
  url: string;
  installed: boolean;
  title: string | null;
  author: string | null;
  cover: null;
  stickers: unknown[];
}

function digest(...parts: string[]): Buffer {
  return createHash('sha256').update(parts.join('\u0000')).digest();
}

export class AccountState {
  readonly recipients = new Map<string, Recipient>();
  readonly groups = new Map<string, Group>();
  readonly devices: Device[];
  readonly stickerPacks: StickerPack[] = [];
  username: string | null = null;
  /** Pending `receive` polls and explicit subscriptions count as "already receiving". */
  activePolls = 0;
  private lastTimestamp = 0;
  private nextDeviceId = 2;

  constructor(
    readonly number: string,
    readonly uuid: string,
  ) {
    const now = Date.now();
    this.devices = [{ id: 1, name: null, createdTimestamp: now, lastSeenTimestamp: now }];
  }

  get self(): GroupMember {
    return { number: this.number, uuid: this.uuid };
  }

  selfAddress(): Address {
    return { uuid: this.uuid, number: this.number, username: this.username };
  }

  /** Message timestamps are message ids: unique and increasing per account. */
  nextTimestamp(): number {
    const now = Date.now();
    this.lastTimestamp = now > this.lastTimestamp ? now : this.lastTimestamp + 1;
    return this.lastTimestamp;
  }

  /** The recipient record for a number, created on first use (like signal-cli's recipient store). */
  recipient(number: string): Recipient {
    let r = this.recipients.get(number);
    if (!r) {
      const now = Date.now();
      r = {
        number,
        uuid: uuidForNumber(number),
        username: null,
        isContact: false,
        givenName: null,
        familyName: null,
        nickGivenName: null,
        nickFamilyName: null,
        note: null,
        isBlocked: false,
        isHidden: false,
        messageExpirationTime: 0,
        profileSharing: false,
        profileTimestamp: now,
        trustLevel: 'TRUSTED_UNVERIFIED',
        identityAdded: now,
      };
      this.recipients.set(number, r);
    }
    return r;
  }

  address(number: string): Address {
    if (number === this.number) return this.selfAddress();
    const r = this.recipient(number);
    return { uuid: r.uuid, number: r.number, username: r.username };
  }

  memberOf(number: string): GroupMember {
    if (number === this.number) return this.self;
    return { number, uuid: this.recipient(number).uuid };
  }

  /** Ensures a group exists (signal-cli stores a group before it notifies about it). */
  ensureGroup(id: string, name: string | null, otherMembers: string[]): Group {
    let g = this.groups.get(id);
    if (!g) {
      g = this.newGroup(id, name);
      for (const m of otherMembers) g.members.unshift(this.memberOf(m));
      this.groups.set(id, g);
    }
    return g;
  }

  newGroup(id: string, name: string | null): Group {
    return {
      id,
      name,
      description: null,
      isMember: true,
      isBlocked: false,
      messageExpirationTime: 0,
      members: [this.self],
      pendingMembers: [],
      requestingMembers: [],
      admins: [this.self],
      banned: [],
      permissionAddMember: 'EVERY_MEMBER',
      permissionEditDetails: 'EVERY_MEMBER',
      permissionSendMessage: 'EVERY_MEMBER',
      groupInviteLink: null,
    };
  }

  static newGroupId(): string {
    return randomBytes(32).toString('base64');
  }

  addDevice(name: string | null): Device {
    const now = Date.now();
    const d = { id: this.nextDeviceId++, name, createdTimestamp: now, lastSeenTimestamp: now };
    this.devices.push(d);
    return d;
  }

  contactJson(r: Recipient, detailed: boolean): Record<string, unknown> {
    const name = [r.givenName, r.familyName].filter((p) => p).join(' ');
    const nickName = [r.nickGivenName, r.nickFamilyName].filter((p) => p).join(' ');
    const out: Record<string, unknown> = {
      number: r.number,
      uuid: r.uuid,
      username: r.username,
      name,
      givenName: r.givenName,
      familyName: r.familyName,
      nickName: nickName === '' ? null : nickName,
      nickGivenName: r.nickGivenName,
      nickFamilyName: r.nickFamilyName,
      note: r.note,
      color: null,
      isBlocked: r.isBlocked,
      isHidden: r.isHidden,
      messageExpirationTime: r.messageExpirationTime,
      profileSharing: r.profileSharing,
      unregistered: false,
      profile: {
        lastUpdateTimestamp: r.profileTimestamp,
        givenName: null,
        familyName: null,
        about: null,
        aboutEmoji: null,
        hasAvatar: false,
        mobileCoinAddress: null,
      },
    };
    if (detailed) {
      out.internal = {
        capabilities: ['storage', 'deleteSync', 'versionedExpirationTimer'],
        unidentifiedAccessMode: 'UNKNOWN',
        sharesPhoneNumber: null,
        discoverableByPhonenumber: null,
      };
    }
    return out;
  }

  /** Deterministic identity key material for a recipient (fingerprint, safety numbers). */
  identity(r: Recipient): { fingerprint: string; safetyNumber: string; scannableSafetyNumber: string } {
    const key = Buffer.concat([Buffer.from([5]), digest('identity', r.number)]);
    const fingerprint = [...key].map((b) => b.toString(16).padStart(2, '0')).join(' ');
    const a = digest('safety', this.number, r.number);
    const b = digest('safety2', this.number, r.number);
    const digits = [...Buffer.concat([a, b])]
      .slice(0, 60)
      .map((x) => String(x % 10))
      .join('');
    const safetyNumber = digits.match(/.{5}/g)!.join(' ');
    const scannableSafetyNumber = Buffer.concat([Buffer.from([8, 2, 18, 34, 10, 32]), a, Buffer.from([26, 34, 10, 32]), b]).toString('base64');
    return { fingerprint, safetyNumber, scannableSafetyNumber };
  }

  identityJson(r: Recipient): Record<string, unknown> {
    const id = this.identity(r);
    return {
      number: r.number,
      uuid: r.uuid,
      fingerprint: id.fingerprint,
      safetyNumber: id.safetyNumber,
      scannableSafetyNumber: id.scannableSafetyNumber,
      trustLevel: r.trustLevel,
      addedTimestamp: r.identityAdded,
    };
  }
}
