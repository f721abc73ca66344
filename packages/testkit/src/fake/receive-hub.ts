// Who gets incoming messages: the subscription table (ids from one process-wide counter; the on-start
// internal subscription is id 0 and unwrapped, explicit ones are wrapped) and pending `receive` polls.

export interface Subscription {
  readonly id: number;
  /** `null` = every account. */
  readonly account: string | null;
  /** Wrapped `{"subscription":N,"result":…}` (explicit subscriptions) or unwrapped (on-start internal). */
  readonly wrapped: boolean;
}

export interface Poll {
  readonly account: string;
  push(receiveObject: string): void;
}

export class ReceiveHub {
  private nextId = 0;
  private readonly subs = new Map<number, Subscription>();
  private readonly polls = new Set<Poll>();

  subscribe(account: string | null, wrapped: boolean): number {
    const id = this.nextId++;
    this.subs.set(id, { id, account, wrapped });
    return id;
  }

  unsubscribe(id: number): boolean {
    return this.subs.delete(id);
  }

  /** Removes every explicit (wrapped) subscription; single-account `unsubscribeReceive` without an id. */
  unsubscribeExplicit(): void {
    for (const s of [...this.subs.values()]) if (s.wrapped) this.subs.delete(s.id);
  }

  list(): Subscription[] {
    return [...this.subs.values()];
  }

  /** Subscriptions that deliver messages of `account`, in id order. */
  targets(account: string): Subscription[] {
    const out: Subscription[] = [];
    for (const s of this.subs.values()) if (s.account === null || s.account === account) out.push(s);
    return out;
  }

  pollsFor(account: string): Poll[] {
    const out: Poll[] = [];
    for (const p of this.polls) if (p.account === account) out.push(p);
    return out;
  }

  /** Whether messages of `account` are already being received (the `receive` method then refuses). */
  isReceiving(account: string): boolean {
    return this.targets(account).length > 0 || this.pollsFor(account).length > 0;
  }

  addPoll(p: Poll): void {
    this.polls.add(p);
  }

  removePoll(p: Poll): void {
    this.polls.delete(p);
  }

  get nextSubscriptionId(): number {
    return this.nextId;
  }
}
