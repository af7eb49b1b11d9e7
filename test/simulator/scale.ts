// Measures a 10,000-node simulator start (time, RSS, listeners) and a probe sweep; run: npx tsx test/simulator/scale.ts [N] [ports|addresses] [--tls]

import { Agent, request } from 'undici';
import { Simulator, testTls } from '../../src/simulator/index.js';
import type { Addressing } from '../../src/simulator/index.js';

const count = Number(process.argv[2] ?? 10_000);
const addressing = (process.argv[3] ?? 'ports') as Addressing;
const tls = process.argv.includes('--tls');
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

const rssBefore = process.memoryUsage().rss;
const started = performance.now();
const sim = await Simulator.start({ nodes: count, addressing, tls });
const startMs = performance.now() - started;
const memory = process.memoryUsage();
console.log(
  `${count} nodes (${addressing}${tls ? ', https' : ''}) started in ${Math.round(startMs)} ms; ` +
    `RSS ${mib(memory.rss)} (+${mib(memory.rss - rssBefore)}), heap used ${mib(memory.heapUsed)}`,
);

// One probe per node, 256 at a time (a real prober runs in another process with its own descriptor budget).
const dispatcher = new Agent({ connections: 1, connect: tls ? { ca: testTls().ca, servername: 'node.sim.test' } : {} });
const sweepStart = performance.now();
const nodes = sim.nodes();
let ok = 0;
for (let i = 0; i < nodes.length; i += 256) {
  const results = await Promise.all(
    nodes.slice(i, i + 256).map(async (node) => {
      // reset: the listeners alone use 10,000 descriptors, so do not keep 10,000 client sockets too.
      const res = await request(node.statusUrl, { dispatcher, reset: true, headersTimeout: 5000, bodyTimeout: 5000 });
      await res.body.dump();
      return res.statusCode;
    }),
  );
  ok += results.filter((s) => s === 200).length;
}
console.log(`probe sweep: ${ok}/${nodes.length} answered 200 in ${Math.round(performance.now() - sweepStart)} ms; RSS ${mib(process.memoryUsage().rss)}`);

const closeStart = performance.now();
await dispatcher.close();
await sim.close();
console.log(`closed in ${Math.round(performance.now() - closeStart)} ms`);
