// HTTP JSON control API of the simulator: list, change, add and remove nodes, faults, counters.

import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SimulatorError, badInput } from './errors.js';
import type { Simulator } from './fleet.js';
import { LoopbackServer } from './loopback-server.js';
import type { NodeInfo } from './sim-node.js';

const MAX_BODY_BYTES = 64 * 1024;

/** The JSON shape of a node in the control API (snake_case, like the rest of drainwatch's wire formats). */
export type NodeView = {
  name: string;
  address: string;
  port: number;
  status_url: string;
  phase: string;
  reason: string | null;
  load: number;
  calls: number;
  faults: Record<string, unknown>;
  probe_requests: number;
  other_requests: number;
  id: number;
  location: string;
  version: string;
};

/** Converts a node snapshot to its control-API JSON. */
export function nodeView(info: NodeInfo): NodeView {
  return {
    name: info.name,
    address: info.address,
    port: info.port,
    status_url: info.statusUrl,
    phase: info.phase,
    reason: info.reason,
    load: info.load,
    calls: info.calls,
    faults: info.faults,
    probe_requests: info.probeRequests,
    other_requests: info.otherRequests,
    id: info.id,
    location: info.location,
    version: info.version,
  };
}

const ENDPOINTS = [
  'GET    /nodes                  list nodes',
  'GET    /nodes/{name}           one node',
  'POST   /nodes                  add a node {name?, phase?, reason?, load?, calls?, location?, version?}',
  'PATCH  /nodes/{name}           change a node {phase?, reason?, load?, calls?, faults?, version?}',
  'DELETE /nodes/{name}           remove a node (stops listening)',
  'POST   /counters/reset         zero request counters',
  'GET    /management             Management Node url, requests, faults, configuration writes received',
  'PATCH  /management             {faults: {status?, write_status?, malformed_json?, latency_ms?}}',
];

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** The control API server; created by `Simulator.start({ control: true })`. */
export class ControlApi {
  readonly #sim: Simulator;
  readonly #server: LoopbackServer;

  constructor(sim: Simulator) {
    this.#sim = sim;
    this.#server = new LoopbackServer(
      createServer((req, res) => {
        this.#handle(req, res).catch((error: unknown) => sendError(res, error));
      }),
      'http',
    );
  }

  listen(port = 0): Promise<void> {
    return this.#server.listen(port);
  }

  get url(): string {
    return this.#server.url;
  }

  close(): Promise<void> {
    return this.#server.close();
  }

  destroy(): void {
    this.#server.destroy();
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const sim = this.#sim;
    const { pathname } = new URL(req.url ?? '/', 'http://sim.invalid');
    const parts = pathname.split('/').filter((p) => p !== '');
    const method = req.method ?? 'GET';
    const [first, second, third] = parts;

    if (parts.length === 0) {
      allow(method, ['GET']);
      return send(res, 200, { simulator: 'drainwatch-sim', endpoints: ENDPOINTS, management_url: sim.managementUrl ?? null });
    }
    if (first === 'nodes' && parts.length === 1) {
      allow(method, ['GET', 'POST']);
      if (method === 'GET') return send(res, 200, sim.nodes().map(nodeView));
      const info = await sim.addNode((await readJson(req)) as never);
      return send(res, 201, nodeView(info), { location: `/nodes/${encodeURIComponent(info.name)}` });
    }
    if (first === 'nodes' && second !== undefined && parts.length === 2) {
      const name = decodeURIComponent(second);
      allow(method, ['GET', 'PATCH', 'DELETE']);
      if (method === 'GET') {
        const info = sim.node(name);
        if (!info) throw new SimulatorError('SIM_UNKNOWN_NODE', `no node named ${JSON.stringify(name)}.`);
        return send(res, 200, nodeView(info));
      }
      if (method === 'DELETE') {
        if (!(await sim.removeNode(name))) throw new SimulatorError('SIM_UNKNOWN_NODE', `no node named ${JSON.stringify(name)}.`);
        res.writeHead(204).end();
        return;
      }
      if (!sim.node(name)) throw new SimulatorError('SIM_UNKNOWN_NODE', `no node named ${JSON.stringify(name)}.`);
      const body = await readJson(req);
      return send(res, 200, nodeView(await sim.updateNode(name, body as never)));
    }
    if (first === 'counters' && second === 'reset' && third === undefined) {
      allow(method, ['POST']);
      sim.resetCounters();
      res.writeHead(204).end();
      return;
    }
    if (first === 'management' && parts.length === 1) {
      allow(method, ['GET', 'PATCH']);
      if (sim.managementUrl === undefined) throw new HttpProblem(404, 'the Management Node is disabled.');
      if (method === 'PATCH') {
        const body = await readJson(req);
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badInput('the body must be a JSON object like {"faults": {...}}.');
        const unknown = Object.keys(body).filter((k) => k !== 'faults');
        if (unknown.length > 0) throw badInput(`unknown field(s) ${unknown.join(', ')}; allowed: faults.`);
        sim.setManagementFaults(((body as { faults?: unknown }).faults ?? {}) as never);
      }
      return send(res, 200, { url: sim.managementUrl, requests: sim.managementRequests(), faults: sim.managementFaults(), writes: sim.managementWrites() });
    }
    throw new HttpProblem(404, `no such endpoint: ${method} ${pathname}; see GET / for the list.`);
  }
}

function allow(method: string, methods: string[]): void {
  if (!methods.includes(method)) {
    throw new HttpProblem(405, `${method} is not allowed here; use ${methods.join(' or ')}.`, { allow: methods.join(', ') });
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpProblem(413, `the body is larger than ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badInput(`the body is not valid JSON (${(error as Error).message}).`);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, error: unknown): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (error instanceof HttpProblem) {
    send(res, error.status, { error: error.message }, error.headers);
    return;
  }
  const code = (error as { code?: unknown }).code;
  const status =
    code === 'SIM_BAD_INPUT' ? 400 : code === 'SIM_UNKNOWN_NODE' ? 404 : code === 'SIM_DUPLICATE_NODE' ? 409 : code === 'SIM_CLOSED' ? 503 : 500;
  send(res, status, { error: (error as Error).message, code: typeof code === 'string' ? code : 'SIM_INTERNAL' });
}
