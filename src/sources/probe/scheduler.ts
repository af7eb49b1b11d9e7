// Probe scheduling: a jittered per-node schedule in one timer heap, a global concurrency cap, no overlap per node, and a capped lane for failing nodes.

import type { NodeSpec, ProbeObservation } from '../../core/verdict.js';
import type { ProbeSink } from './prober.js';

export type ProbeFn = (node: NodeSpec, signal: AbortSignal) => Promise<ProbeObservation>;

/**
 * The allocation-free way to probe: `run` starts one probe of `node` and calls `sink.settle`
 * exactly once with its observation (the scheduler's per-node object is the sink).
 */
export type ProbeRunner = {
  run(node: NodeSpec, sink: ProbeSink): void;
  /** Aborts the probe of `node` in flight, if any (scheduler destroy). */
  abort?(node: NodeSpec): void;
  /** The node left the schedule (or its status URL changed): its connection may go. */
  forget?(node: NodeSpec): void;
};

export type SchedulerOptions = {
  intervalMs: number;
  /** Fraction of the interval each delay may vary by, so nodes do not probe in lockstep. */
  jitter: number;
  concurrency: number;
  /** How to probe: a runner (the service's prober) or a promise-returning function (tests). */
  runner?: ProbeRunner;
  probe?: ProbeFn;
  onResult: (node: NodeSpec, observation: ProbeObservation) => void;
  /** Called at each probe start with how late it started versus its due time (ms). */
  onStart?: (node: NodeSpec, latenessMs: number) => void;
  clock?: () => number;
  random?: () => number;
};

type Phase = 'scheduled' | 'waiting' | 'running' | 'idle';

/** One node's schedule, preallocated: heap entry, queue entry and probe sink in one object. */
class ScheduledNode implements ProbeSink {
  due = 0;
  started = 0;
  phase: Phase = 'idle';
  removed = false;
  /** Never probed yet, answered its last probe, or failed it (then it waits in the capped lane). */
  standing: 'new' | 'ok' | 'failing' = 'new';
  /** Whether the probe in flight counts against the suspect lane's cap. */
  ranAsSuspect = false;
  /** A spec whose status URL changed during the probe in flight: forgotten when it settles. */
  replaced: NodeSpec | null = null;

  constructor(
    public spec: NodeSpec,
    private readonly scheduler: ProbeScheduler,
  ) {}

  settle(observation: ProbeObservation | null): void {
    this.scheduler.settled(this, observation);
  }
}

/** A FIFO of nodes over one array with a moving head (no O(n) shifts on big fleets). */
class Lane {
  private items: ScheduledNode[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(node: ScheduledNode): void {
    this.items.push(node);
  }

  shift(): ScheduledNode | undefined {
    const node = this.items[this.head];
    if (node === undefined) return undefined;
    this.head += 1;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return node;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

/**
 * Runs every node's probe on its own jittered schedule.
 *
 * Fairness: due probes wait in three lanes, taken in order: nodes that answered their last probe,
 * nodes never probed, and nodes whose last probe failed (a hung node times out, holding its slot
 * for the whole timeout). The failing lane may hold at most `concurrency - reserve` slots, with
 * `reserve` a quarter of the slots (at least one), so nodes that answer always find a free slot and
 * keep their schedule however many nodes hang.
 *
 * @example
 * const scheduler = new ProbeScheduler({ intervalMs: 1000, jitter: 0.1, concurrency: 256, runner: prober, onResult });
 * scheduler.setNodes(nodes);
 * scheduler.start();
 */
export class ProbeScheduler {
  private readonly heap: ScheduledNode[] = [];
  private readonly nodes = new Map<string, ScheduledNode>();
  /** Waiting probes: nodes that answered last time, nodes never probed, nodes that failed last time. */
  private readonly healthy = new Lane();
  private readonly fresh = new Lane();
  private readonly failing = new Lane();
  private inFlight = 0;
  private suspectsInFlight = 0;
  private readonly settledWaiters = new Set<() => void>();
  private readonly clock: () => number;
  private readonly random: () => number;
  private timer: NodeJS.Timeout | null = null;
  private timerDue = Infinity;
  private running = false;
  private destroyed = false;
  private draining = false;
  /** One signal for every promise-style probe of a run (aborted by destroy), not one per probe. */
  private controller = new AbortController();

  constructor(private options: SchedulerOptions) {
    this.clock = options.clock ?? Date.now;
    this.random = options.random ?? Math.random;
    if (!options.runner && !options.probe) throw new Error('ProbeScheduler needs a runner or a probe function');
  }

  /** Replaces the node set; new nodes are probed at once, removed ones stop (in-flight probes finish). */
  setNodes(specs: readonly NodeSpec[]): void {
    const now = this.clock();
    const wanted = new Set(specs.map((spec) => spec.name));
    for (const [name, node] of this.nodes) {
      if (wanted.has(name)) continue;
      node.removed = true;
      this.nodes.delete(name);
      if (node.phase !== 'running') this.options.runner?.forget?.(node.spec);
    }
    for (const spec of specs) {
      const existing = this.nodes.get(spec.name);
      if (existing) {
        if (existing.spec.statusUrl !== spec.statusUrl) {
          if (existing.phase === 'running') existing.replaced = existing.spec;
          else this.options.runner?.forget?.(existing.spec);
        }
        existing.spec = spec;
        continue;
      }
      const node = new ScheduledNode(spec, this);
      this.nodes.set(spec.name, node);
      node.due = now;
      this.push(node);
    }
    this.arm();
  }

  /** Changes interval, jitter or concurrency (config reload); applies from each node's next probe. */
  updateTiming(timing: Pick<SchedulerOptions, 'intervalMs' | 'jitter' | 'concurrency'>): void {
    this.options = { ...this.options, ...timing };
    this.drain();
  }

  start(): void {
    this.running = true;
    this.destroyed = false;
    if (this.controller.signal.aborted) this.controller = new AbortController();
    this.arm();
  }

  get inFlightCount(): number {
    return this.inFlight;
  }

  get queuedCount(): number {
    return this.healthy.length + this.fresh.length + this.failing.length;
  }

  /** Stops scheduling and waits for in-flight probes to finish. Idempotent. */
  async close(): Promise<void> {
    this.stop();
    if (this.inFlight === 0) return;
    await new Promise<void>((resolve) => this.settledWaiters.add(resolve));
  }

  /** Stops scheduling and aborts in-flight probes now. Idempotent. */
  destroy(): void {
    this.stop();
    this.destroyed = true;
    this.controller.abort(new Error('scheduler destroyed'));
    const abort = this.options.runner?.abort;
    if (abort) for (const node of this.nodes.values()) if (node.phase === 'running') abort.call(this.options.runner, node.spec);
  }

  /** A probe ended (called through the node, its sink). */
  settled(node: ScheduledNode, observation: ProbeObservation | null): void {
    if (node.phase !== 'running') return; // a second settle for one probe is ignored
    node.phase = 'idle';
    this.inFlight -= 1;
    if (node.ranAsSuspect) this.suspectsInFlight -= 1;
    if (observation && !node.removed && !this.destroyed) {
      node.standing = observation.outcome === 'failure' ? 'failing' : 'ok';
      this.options.onResult(node.spec, observation);
    }
    if (node.replaced) {
      this.options.runner?.forget?.(node.replaced);
      node.replaced = null;
    }
    if (node.removed) this.options.runner?.forget?.(node.spec);
    else {
      // Rescheduled even while stopped, so that start() after close() resumes every node.
      // Next probe one jittered interval after this one started (never overlapping it). Whole
      // milliseconds: a fractional due time is a new heap number on every reschedule (a young
      // object stored into an old one: a write barrier per probe), and timers round anyway.
      const { intervalMs, jitter } = this.options;
      const delay = intervalMs * (1 + jitter * (2 * this.random() - 1));
      node.due = Math.max(this.clock(), Math.round(node.started + delay));
      this.push(node);
      this.arm();
    }
    this.drain();
    if (this.inFlight === 0 && this.settledWaiters.size > 0) {
      for (const resolve of this.settledWaiters) resolve();
      this.settledWaiters.clear();
    }
  }

  private stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.timerDue = Infinity;
    // Waiting probes go back on the schedule (due now), for a later start().
    for (const lane of [this.healthy, this.fresh, this.failing]) {
      for (let node = lane.shift(); node; node = lane.shift()) if (node.phase === 'waiting' && !node.removed) this.push(node);
    }
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
    while (this.heap.length > 0 && (this.heap[0] as ScheduledNode).due <= now) {
      const node = this.pop() as ScheduledNode;
      if (node.removed || node.phase !== 'scheduled') continue;
      node.phase = 'waiting';
      (node.standing === 'ok' ? this.healthy : node.standing === 'new' ? this.fresh : this.failing).push(node);
    }
    this.drain();
    this.arm();
  }

  /** Starts waiting probes while slots are free: answering nodes first, then new ones, failing ones within their cap. */
  private drain(): void {
    if (this.draining) return; // a probe that settles synchronously re-enters here
    this.draining = true;
    try {
      const { concurrency } = this.options;
      const reserve = concurrency > 1 ? Math.max(1, Math.floor(concurrency / 4)) : 0;
      while (this.running && this.inFlight < concurrency) {
        let node = this.healthy.shift() ?? this.fresh.shift();
        if (!node && this.suspectsInFlight < concurrency - reserve) node = this.failing.shift();
        if (!node) break;
        if (node.removed || node.phase !== 'waiting') continue;
        this.launch(node);
      }
    } finally {
      this.draining = false;
    }
  }

  private launch(node: ScheduledNode): void {
    node.phase = 'running';
    node.ranAsSuspect = node.standing === 'failing';
    this.inFlight += 1;
    if (node.ranAsSuspect) this.suspectsInFlight += 1;
    node.started = this.clock();
    this.options.onStart?.(node.spec, Math.max(0, node.started - node.due));
    const { runner, probe } = this.options;
    if (runner) {
      runner.run(node.spec, node);
      return;
    }
    // Probe functions never reject; a destroyed probe has nothing to report.
    (probe as ProbeFn)(node.spec, this.controller.signal).then(
      (observation) => node.settle(observation),
      () => node.settle(null),
    );
  }

  private push(node: ScheduledNode): void {
    node.phase = 'scheduled';
    const heap = this.heap;
    heap.push(node);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((heap[parent] as ScheduledNode).due <= node.due) break;
      heap[i] = heap[parent] as ScheduledNode;
      i = parent;
    }
    heap[i] = node;
  }

  private pop(): ScheduledNode | undefined {
    const heap = this.heap;
    const top = heap[0];
    const last = heap.pop();
    if (heap.length === 0 || !last) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && (heap[right] as ScheduledNode).due < (heap[left] as ScheduledNode).due ? right : left;
      if ((heap[child] as ScheduledNode).due >= last.due) break;
      heap[i] = heap[child] as ScheduledNode;
      i = child;
    }
    heap[i] = last;
    return top;
  }
}
