// Size-capped request body reading shared by the HTTP routes that accept a body.

export type BodyResult = { ok: true; text: string } | { ok: false; status: 400 | 413; error: string };

/** Reads a request body as UTF-8, refusing (without buffering the rest) once it exceeds `limit` bytes. */
export async function readCappedBody(request: Request, limit: number): Promise<BodyResult> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > limit) {
    return { ok: false, status: 413, error: `request body of ${declared} bytes is over the ${limit}-byte limit (http.body_limit)` };
  }
  if (!request.body) return { ok: true, text: '' };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await reader.cancel().catch(() => undefined);
        return { ok: false, status: 413, error: `request body is over the ${limit}-byte limit (http.body_limit)` };
      }
      chunks.push(value);
    }
  } catch {
    return { ok: false, status: 400, error: 'request body could not be read' };
  }
  return { ok: true, text: Buffer.concat(chunks).toString('utf8') };
}
