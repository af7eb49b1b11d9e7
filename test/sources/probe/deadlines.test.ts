// The deadline queue under fake timers: one timer, expiry in due order, cancellation, mixed timeouts.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { vi } from 'vitest';
import { DeadlineQueue } from '../../../src/sources/probe/deadlines.js';
import type { Expirable } from '../../../src/sources/probe/deadlines.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const entry = (name: string, expired: string[]): Expirable & { name: string } => ({
  name,
  deadlineTicket: 0,
  expire() {
    expired.push(name);
  },
});

describe('DeadlineQueue', () => {
  it('expires entries at their deadlines, in due order', async () => {
    const expired: string[] = [];
    const queue = new DeadlineQueue();
    const t0 = Date.now();
    queue.add(entry('a', expired), t0 + 100);
    queue.add(entry('b', expired), t0 + 200);
    await vi.advanceTimersByTimeAsync(99);
    expect(expired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(expired).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(100);
    expect(expired).toEqual(['a', 'b']);
    expect(queue.length).toBe(0);
  });

  it('never expires a cancelled entry, and a re-added one only at its new deadline', async () => {
    const expired: string[] = [];
    const queue = new DeadlineQueue();
    const t0 = Date.now();
    const a = entry('a', expired);
    queue.add(a, t0 + 100);
    queue.cancel(a);
    queue.add(a, t0 + 300);
    const b = entry('b', expired);
    queue.add(b, t0 + 150);
    queue.cancel(b);
    await vi.advanceTimersByTimeAsync(299);
    expect(expired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(expired).toEqual(['a']);
  });

  it('keeps due order when a shorter deadline is added after longer ones (a timeout reload)', async () => {
    const expired: string[] = [];
    const queue = new DeadlineQueue();
    const t0 = Date.now();
    queue.add(entry('late', expired), t0 + 800);
    queue.add(entry('later', expired), t0 + 900);
    queue.add(entry('early', expired), t0 + 200);
    await vi.advanceTimersByTimeAsync(1000);
    expect(expired).toEqual(['early', 'late', 'later']);
  });

  it('uses one timer however many deadlines are queued, and grows past its first capacity', async () => {
    const expired: string[] = [];
    const queue = new DeadlineQueue();
    const t0 = Date.now();
    for (let i = 0; i < 1000; i += 1) queue.add(entry(String(i), expired), t0 + 500 + i);
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(2000);
    expect(expired).toHaveLength(1000);
    expect(expired.slice(0, 3)).toEqual(['0', '1', '2']);
  });

  it('lets an expiring entry add a new deadline from inside expire()', async () => {
    const expired: string[] = [];
    const queue = new DeadlineQueue();
    const t0 = Date.now();
    const again = entry('again', expired);
    queue.add({ deadlineTicket: 0, expire: () => queue.add(again, Date.now() + 50) }, t0 + 100);
    await vi.advanceTimersByTimeAsync(149);
    expect(expired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(expired).toEqual(['again']);
  });

  it('clear() drops every deadline and the timer', async () => {
    const expired: string[] = [];
    const queue = new DeadlineQueue();
    queue.add(entry('a', expired), Date.now() + 100);
    queue.clear();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(500);
    expect(expired).toEqual([]);
  });
});
