// Test helper: one HAProxy agent-check exchange against drainwatch's agent port.

import { connect } from 'node:net';
import type { HaproxyAgentFrontend } from '../../src/frontends/haproxy/agent-server.js';

/** Sends the node name as HAProxy's `agent-send` does and resolves with the raw reply (newline included). */
export function askAgent(port: number, name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.write(`${name}\n`));
    let reply = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('agent timeout')));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
    });
    socket.on('end', () => resolve(reply));
    socket.on('error', reject);
  });
}

/** The bound port of a service's HAProxy agent front-end (throws when it is not running). */
export function agentPort(service: { frontend(name: string): unknown }): number {
  const agent = service.frontend('haproxy-agent') as HaproxyAgentFrontend | undefined;
  const port = agent?.address()?.port;
  if (!port) throw new Error('the HAProxy agent front-end is not listening');
  return port;
}
