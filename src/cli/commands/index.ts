// `drainwatch <subcommand>` modules, loaded on demand (one line per subcommand).

export type Subcommand = { run(argv: string[]): Promise<number> };

export const SUBCOMMANDS: Record<string, () => Promise<Subcommand>> = {
  'wait-drained': () => import('./wait-drained.js'),
  print: () => import('./print-haproxy.js'),
  maintenance: () => import('./maintenance.js'),
};
