// Build step after tsc: copies every src/**/assets/ folder to the same place under dist/ (tsc copies only what it compiles).

import { cpSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const dist = join(root, 'dist');

/** @param {string} dir @returns {string[]} every folder named "assets" under dir */
function assetFolders(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const path = join(dir, entry.name);
    if (entry.name === 'assets') found.push(path);
    else found.push(...assetFolders(path));
  }
  return found;
}

for (const folder of assetFolders(src)) {
  const target = join(dist, relative(src, folder));
  // Replace, not merge: a file deleted from src/ must not linger in dist/.
  if (existsSync(target)) rmSync(target, { recursive: true, force: true });
  cpSync(folder, target, { recursive: true });
  console.log(`copied ${relative(root, folder)} -> ${relative(root, target)}`);
}
