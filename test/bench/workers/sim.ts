// Benchmark worker: a simulated fleet in its own process, driven over IPC (start, flip phases, read probe counters).

import { Simulator } from '../../../src/simulator/index.js';
import type { NodePhase } from '../../../src/simulator/index.js';
import { serve } from '../lib/rpc.js';

export type SimNodeInfo = { name: string; address: string; port: number; statusUrl: string };

let sim: Simulator | null = null;

const need = (): Simulator => {
  if (!sim) throw new Error('the simulator has not been started');
  return sim;
};

serve(
  {
    /** Starts `count` nodes named <prefix><first..> on their own 127.X.Y.Z addresses, one shared port. */
    async start(args: { count: number; first?: number; width?: number; baseAddress?: string; prefix?: string }) {
      const first = args.first ?? 1;
      const width = args.width ?? 5;
      const prefix = args.prefix ?? 'px';
      const nodes = Array.from({ length: args.count }, (_, i) => ({ name: `${prefix}${String(first + i).padStart(width, '0')}` }));
      sim = await Simulator.start({ nodes, addressing: 'addresses', baseAddress: args.baseAddress ?? '127.1.0.1', management: false, closeGraceMs: 200 });
      return sim.nodes().map((node): SimNodeInfo => ({ name: node.name, address: node.address, port: node.port, statusUrl: node.statusUrl }));
    },
    /** Changes a node's phase; answers the wall-clock time (ms) at which the change took effect. */
    async setPhase(args: { name: string; phase: NodePhase }) {
      await need().setPhase(args.name, args.phase);
      return Date.now();
    },
    resetCounters() {
      need().resetCounters();
      return true;
    },
    /** Status-endpoint requests per node since the last reset. */
    probeRequests(args: { names: string[] }) {
      const fleet = need();
      return args.names.map((name) => fleet.probeRequests(name));
    },
    totalProbeRequests() {
      return need().nodes().reduce((sum, node) => sum + need().probeRequests(node.name), 0);
    },
  },
  async () => {
    await sim?.close();
  },
);
