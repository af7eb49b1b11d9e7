// One timer for every in-flight probe's deadline: a queue ordered by due time, checked by a single setTimeout.

/** Something with a deadline: `expire()` is called once when it passes, unless cancelled first. */
export type Expirable = {
  /** Set by the queue on `add`; 0 when not queued (cancelled or expired). */
  deadlineTicket: number;
  expire(): void;
};

export type DeadlineQueueOptions = {
  clock?: () => number;
};

/**
 * Deadlines for many short operations with (mostly) the same timeout. Entries are kept in due
 * order in a ring buffer: with one timeout for every probe, each new deadline is the latest, so
 * `add` appends in O(1); a mixed timeout (a reload) costs a short insertion from the tail.
 * Cancelling is O(1) (the entry is skipped later). One timer is armed for the earliest live
 * deadline, so a probe costs no timer, closure or AbortController of its own.
 *
 * @example
 * const deadlines = new DeadlineQueue();
 * deadlines.add(probe, Date.now() + 800); // probe.expire() runs in 800 ms...
 * deadlines.cancel(probe);                // ...unless it finished first
 */
export class DeadlineQueue {
  private items: Array<Expirable | null>;
  private dues: Float64Array;
  private tickets: Float64Array;
  private head = 0;
  private size = 0;
  private nextTicket = 1;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = Infinity;
  private readonly clock: () => number;

  constructor(options: DeadlineQueueOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.items = new Array<Expirable | null>(64).fill(null);
    this.dues = new Float64Array(64);
    this.tickets = new Float64Array(64);
  }

  /** Entries held, including cancelled ones not yet skipped (for tests and metrics). */
  get length(): number {
    return this.size;
  }

  /** Queues `item` to expire at `at` (ms, same clock); replaces any deadline it already had. */
  add(item: Expirable, at: number): void {
    if (this.size === this.items.length) this.grow();
    const ticket = this.nextTicket++;
    item.deadlineTicket = ticket;
    const mask = this.items.length - 1;
    // Walk back from the tail past later deadlines (none, when every timeout is the same).
    let i = this.size;
    while (i > 0 && (this.dues[(this.head + i - 1) & mask] as number) > at) {
      const from = (this.head + i - 1) & mask;
      const to = (this.head + i) & mask;
      this.items[to] = this.items[from] as Expirable | null;
      this.dues[to] = this.dues[from] as number;
      this.tickets[to] = this.tickets[from] as number;
      i -= 1;
    }
    const slot = (this.head + i) & mask;
    this.items[slot] = item;
    this.dues[slot] = at;
    this.tickets[slot] = ticket;
    this.size += 1;
    if (at < this.timerAt) this.arm(at);
  }

  /** Forgets `item`'s deadline (it finished in time). */
  cancel(item: Expirable): void {
    item.deadlineTicket = 0;
  }

  /** Drops every deadline and the timer (nothing expires). */
  clear(): void {
    for (let i = 0; i < this.size; i += 1) {
      const slot = (this.head + i) & (this.items.length - 1);
      const item = this.items[slot];
      if (item && item.deadlineTicket === this.tickets[slot]) item.deadlineTicket = 0;
      this.items[slot] = null;
    }
    this.head = 0;
    this.size = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerAt = Infinity;
  }

  private arm(at: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.fire(), Math.max(0, at - this.clock()));
    // Probe sockets keep the process alive while work is in flight; the timer alone must not.
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = null;
    this.timerAt = Infinity;
    const now = this.clock();
    const mask = this.items.length - 1;
    while (this.size > 0) {
      const slot = this.head;
      const item = this.items[slot] as Expirable | null;
      const live = item !== null && item.deadlineTicket === this.tickets[slot];
      if (live && (this.dues[slot] as number) > now) break;
      this.items[slot] = null;
      this.head = (this.head + 1) & mask;
      this.size -= 1;
      if (live) {
        (item as Expirable).deadlineTicket = 0;
        (item as Expirable).expire();
      }
    }
    if (this.size > 0) this.arm(this.dues[this.head] as number);
  }

  private grow(): void {
    const capacity = this.items.length * 2;
    const items = new Array<Expirable | null>(capacity).fill(null);
    const dues = new Float64Array(capacity);
    const tickets = new Float64Array(capacity);
    const mask = this.items.length - 1;
    for (let i = 0; i < this.size; i += 1) {
      const slot = (this.head + i) & mask;
      items[i] = this.items[slot] as Expirable | null;
      dues[i] = this.dues[slot] as number;
      tickets[i] = this.tickets[slot] as number;
    }
    this.items = items;
    this.dues = dues;
    this.tickets = tickets;
    this.head = 0;
  }
}
