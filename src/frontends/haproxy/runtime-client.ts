// HAProxy stats-socket client: sends ";"-joined command batches, one connection each, and splits the answers.

import { connect } from 'node:net';
import { splitCliAnswer } from './runtime-commands.js';
import type { RuntimeSocket } from '../../config/address.js';

// The CLI reads one line into a buffer of tune.bufsize (16 KiB by default); stay well below it.
const MAX_BATCH_BYTES = 8 * 1024;

// `show info` answers about 2 KiB; anything far larger is not the CLI we expect.
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * Sends commands over one connection each batch and returns one output per command.
 * Rejects on connection errors, a timeout, an aborted `signal`, or an answer that cannot be split.
 *
 * @example
 * const [info] = await sendCliCommands({ path: '/run/haproxy/admin.sock' }, ['show info'], 2000);
 */
export async function sendCliCommands(socket: RuntimeSocket, commands: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<string[]> {
  const outputs: string[] = [];
  let batch: string[] = [];
  let size = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    outputs.push(...(await sendBatch(socket, batch, timeoutMs, signal)));
    batch = [];
    size = 0;
  };
  for (const command of commands) {
    if (size + command.length + 2 > MAX_BATCH_BYTES) await flush();
    batch.push(command);
    size += command.length + 2;
  }
  await flush();
  return outputs;
}

function sendBatch(target: RuntimeSocket, commands: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<string[]> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('aborted'));
    const socket = 'path' in target ? connect({ path: target.path }) : connect({ host: target.host, port: target.port });
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;
    const finish = (error: Error | null, value?: string[]) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (error) reject(error);
      else resolve(value as string[]);
    };
    const timer = setTimeout(() => finish(new Error(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    const onAbort = () => finish(new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.setNoDelay?.(true);
    socket.on('connect', () => socket.write(`${commands.join('; ')}\n`));
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > MAX_ANSWER_BYTES) return finish(new Error('answer larger than 1 MiB'));
      chunks.push(chunk);
    });
    socket.on('error', (error) => finish(error));
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const outputs = splitCliAnswer(text, commands.length);
      if (outputs) finish(null, outputs);
      else finish(new Error(`incomplete answer (${received} bytes for ${commands.length} commands)`));
    });
  });
}
