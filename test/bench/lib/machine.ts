// The machine description printed with every result table: CPU, cores, memory, load, Node and HAProxy versions.

import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

export type Machine = {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  haproxy: string;
  loadAverage: [number, number, number];
};

function firstLine(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]?.trim() ?? '';
  } catch {
    return 'not installed';
  }
}

/** Describes this machine as it is now. */
export function describeMachine(): Machine {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux: os.cpus() is good enough
  }
  const haproxy = firstLine('haproxy', ['-v']).replace(/^HA-?Proxy version\s*/i, '').split(' ')[0] ?? 'unknown';
  const load = os.loadavg();
  return {
    cpu,
    cores: os.availableParallelism(),
    memoryGiB: os.totalmem() / 1024 ** 3,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    haproxy,
    loadAverage: [load[0] ?? 0, load[1] ?? 0, load[2] ?? 0],
  };
}

/** One paragraph for humans. */
export function machineText(machine: Machine): string {
  return [
    `CPU: ${machine.cpu}, ${machine.cores} cores; memory ${machine.memoryGiB.toFixed(1)} GiB; ${machine.kernel}`,
    `Node ${machine.node}; HAProxy ${machine.haproxy}; load average at start ${machine.loadAverage.map((n) => n.toFixed(2)).join(' / ')}`,
  ].join('\n');
}
