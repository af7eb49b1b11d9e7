// Probe scheduling: a jittered per-node schedule in one timer heap, a global concurrency cap, no overlap per node.

import type { NodeSpec, ProbeObservation } from '../../core/verdict.js';

export type ProbeFn = (node: NodeSpec, signal: AbortSignal) => Promise<ProbeObservation>;

export type SchedulerOptions = {
  intervalMs: number;
  /** Fraction of the interval each delay may vary by, so nodes do not probe in lockstep. */
  jitter: number;
  concurrency: number;
  probe: ProbeFn;
  onResult: (node: NodeSpec, observation: ProbeObservation) => void;
  /** Called at each probe start with how late it started versus its due time (ms). */
  onStart?: (node: NodeSpec, latenessMs: number) => void;
  clock?: () => number;
  random?: () => number;
};

type Entry = { due: number; name: string; generation: number };

/**
 * Runs every node's probe on its own jittered schedule.
 *
 * @example
 * const scheduler = new ProbeScheduler({ intervalMs: 1000, jitter: 0.1, concurrency: 256, probe, onResult });
 * scheduler.setNodes(nodes);
 * scheduler.start();
 */
export class ProbeScheduler {
  private readonly heap: Entry[] = [];
  private readonly nodes = new Map<string, { spec: NodeSpec; generation: number }>();
  private readonly inFlight = new Map<string, AbortController>();
  /** Due probes waiting for a concurrency slot, FIFO (`waitingHead` avoids O(n) shifts on big fleets). */
  private waiting: Entry[] = [];
  private waitingHead = 0;
  private readonly settled = new Set<() => void>();
  private readonly clock: () => number;
  private readonly random: () => number;
  private timer: NodeJS.Timeout | null = null;
  private timerDue = Infinity;
  private running = false;
  private generationCounter = 0;

  constructor(private options: SchedulerOptions) {
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** Replaces the node set; new nodes are probed at once, removed ones stop (in-flight probes finish). */
  setNodes(specs: readonly NodeSpec[]): void {
    const now = this.clock();
    const wanted = new Set(specs.map((spec) => spec.name));
    for (const name of this.nodes.keys()) if (!wanted.has(name)) this.nodes.delete(name);
    for (const spec of specs) {
      const existing = this.nodes.get(spec.name);
      if (existing) {
        existing.spec = spec;
        continue;
      }
      const generation = ++this.generationCounter;
      this.nodes.set(spec.name, { spec, generation });
      this.push({ due: now, name: spec.name, generation });
    }
    this.arm();
  }

  /** Changes interval, jitter or concurrency (config reload); applies from each node's next probe. */
  updateTiming(timing: Pick<SchedulerOptions, 'intervalMs' | 'jitter' | 'concurrency'>): void {
    this.options = { ...this.options, ...timing };
    this.drainWaiting();
  }

  start(): void {
    this.running = true;
    this.arm();
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  get queuedCount(): number {
    return this.waiting.length - this.waitingHead;
  }

  /** Stops scheduling and waits for in-flight probes to finish. Idempotent. */
  async close(): Promise<void> {
    this.stop();
    if (this.inFlight.size === 0) return;
    await new Promise<void>((resolve) => this.settled.add(resolve));
  }

  /** Stops scheduling and aborts in-flight probes now. Idempotent. */
  destroy(): void {
    this.stop();
    for (const controller of this.inFlight.values()) controller.abort(new Error('scheduler destroyed'));
  }

  private stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = Infinity;
    this.waiting = [];
    this.waitingHead = 0;
  }

  private arm(): void {
    if (!this.running) return;
    const next = this.heap[0];
    if (!next) return;
    if (this.timer && this.timerDue <= next.due) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = next.due;
    this.timer = setTimeout(() => this.fire(), Math.max(0, next.due - this.clock()));
  }

  private fire(): void {
    this.timer = null;
    this.timerDue = Infinity;
    const now = this.clock();
    while (this.heap.length > 0 && (this.heap[0] as Entry).due <= now) {
      const entry = this.pop() as Entry;
      if (this.isCurrent(entry)) this.waiting.push(entry);
    }
    this.drainWaiting();
    this.arm();
  }

  private drainWaiting(): void {
    while (this.running && this.waitingHead < this.waiting.length && this.inFlight.size < this.options.concurrency) {
      const entry = this.waiting[this.waitingHead++] as Entry;
      if (this.isCurrent(entry) && !this.inFlight.has(entry.name)) this.launch(entry);
    }
    if (this.waitingHead === this.waiting.length) {
      this.waiting = [];
      this.waitingHead = 0;
    } else if (this.waitingHead > 1024 && this.waitingHead * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.waitingHead);
      this.waitingHead = 0;
    }
  }

  private isCurrent(entry: Entry): boolean {
    return this.nodes.get(entry.name)?.generation === entry.generation;
  }

  private launch(entry: Entry): void {
    const node = this.nodes.get(entry.name);
    if (!node) return;
    const started = this.clock();
    this.options.onStart?.(node.spec, Math.max(0, started - entry.due));
    const controller = new AbortController();
    this.inFlight.set(entry.name, controller);
    const spec = node.spec;
    this.options
      .probe(spec, controller.signal)
      .then(
        (observation) => {
          if (this.isCurrent(entry)) this.options.onResult(spec, observation);
        },
        () => undefined, // probe functions never reject; a destroyed probe has nothing to report
      )
      .finally(() => {
        this.inFlight.delete(entry.name);
        if (this.running && this.isCurrent(entry)) {
          // Next probe one jittered interval after this one started (never overlapping it).
          const { intervalMs, jitter } = this.options;
          const delay = intervalMs * (1 + jitter * (2 * this.random() - 1));
          this.push({ due: Math.max(this.clock(), started + delay), name: entry.name, generation: entry.generation });
          this.arm();
        }
        this.drainWaiting();
        if (this.inFlight.size === 0) {
          for (const resolve of this.settled) resolve();
          this.settled.clear();
        }
      });
  }

  private push(entry: Entry): void {
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as Entry).due <= entry.due) break;
      heap[i] = heap[parent] as Entry;
      i = parent;
    }
    heap[i] = entry;
  }

  private pop(): Entry | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || !last) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as Entry).due < (heap[left] as Entry).due ? right : left;
      if ((heap[child] as Entry).due >= last.due) break;
      heap[i] = heap[child] as Entry;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
