// YAML syntax errors as one message each: the line, the problem, and the lines around it with a caret.

import type { YAMLError } from 'yaml';

/**
 * One readable message per YAML error; errors that the parser reports twice for the same line
 * (an indentation slip often yields two) are merged into the first.
 *
 * @example
 * const doc = parseDocument(text);
 * const messages = describeYamlErrors(doc.errors, text);
 */
export function describeYamlErrors(errors: readonly YAMLError[], text: string): string[] {
  const lines = text.split(/\r?\n/);
  const out: string[] = [];
  const seenLines = new Set<number>();
  for (const error of errors) {
    const line = error.linePos?.[0].line ?? lineOf(text, error.pos[0]);
    if (seenLines.has(line)) continue;
    seenLines.add(line);
    // The parser's own message ends with its position and an excerpt after a colon; keep the sentence.
    const sentence = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?\s*$/, '').trim();
    out.push(`YAML syntax error at line ${line}: ${sentence}\n${excerpt(lines, line)}`);
  }
  return out;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < Math.min(offset, text.length); i += 1) if (text[i] === '\n') line += 1;
  return line;
}

/** The line before and the line itself, numbered, with a caret under the first character of the line at fault. */
function excerpt(lines: readonly string[], line: number): string {
  const width = String(line).length;
  const show = (n: number) => `    ${String(n).padStart(width)} | ${lines[n - 1] ?? ''}`;
  const at = lines[line - 1] ?? '';
  const column = at.length - at.trimStart().length;
  const out = [];
  if (line > 1) out.push(show(line - 1));
  out.push(show(line), `    ${' '.repeat(width)} | ${' '.repeat(column)}^`);
  return out.join('\n');
}
