// The demo: drainwatch against a built-in simulated fleet (placeholder until the simulator lands).

export async function runDemo(): Promise<number> {
  process.stderr.write('demo: not wired yet\n');
  return 1;
}
