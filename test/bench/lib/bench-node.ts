// Names and addresses of the front-end benchmarks' synthetic fleet (EDS needs IP addresses).

/** Node i (from 0): px00001.., on unique 127.1.X.Y addresses, port 443. */
export const benchNode = (i: number): { name: string; address: string; port: number } => ({
  name: `px${String(i + 1).padStart(5, '0')}`,
  address: `127.1.${Math.floor(i / 250)}.${1 + (i % 250)}`,
  port: 443,
});
