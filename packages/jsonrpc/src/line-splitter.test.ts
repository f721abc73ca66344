import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createLineStream } from './line-splitter.ts';

interface Collected {
  lines: string[];
  long: { head: string; length: number | undefined }[];
}

/** Feed `chunks` through a line stream and collect what comes out once it has finished. */
async function run(chunks: (Buffer | string)[], maxLength: number): Promise<Collected> {
  const out: Collected = { lines: [], long: [] };
  const ls = createLineStream(
    maxLength,
    (line) => out.lines.push(line),
    (head, length) => out.long.push({ head, length }),
  );
  const finished = new Promise<void>((resolve) => ls.stream.once('finish', resolve));
  for (const chunk of chunks) ls.stream.write(chunk);
  ls.terminate();
  await finished;
  return out;
}

/** Split `buf` at the given byte offsets. */
function cut(buf: Buffer, offsets: number[]): Buffer[] {
  const points = [...new Set(offsets.map((o) => o % (buf.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    parts.push(buf.subarray(last, p));
    last = p;
  }
  parts.push(buf.subarray(last));
  return parts.filter((p) => p.length > 0);
}

const lineText = fc.string({ unit: 'binary', maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ' '));

describe('createLineStream', () => {
  it('yields the same lines however the bytes are chunked, and skips exactly the over-long ones', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(lineText, { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.integer({ min: 1, max: 30 }),
        fc.boolean(),
        async (lines, offsets, maxLength, crlf) => {
          const text = lines.map((l) => `${l}${crlf ? '\r\n' : '\n'}`).join('');
          const got = await run(cut(Buffer.from(text, 'utf8'), offsets), maxLength);
          expect(got.lines).toEqual(lines.filter((l) => l.length <= maxLength));
          expect(got.long).toHaveLength(lines.filter((l) => l.length > maxLength).length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps a multi-byte character split across chunks intact', async () => {
    const buf = Buffer.from('{"emoji":"👍","u":"ü"}\n', 'utf8');
    const thumb = buf.indexOf(Buffer.from('👍', 'utf8'));
    const got = await run([buf.subarray(0, thumb + 1), buf.subarray(thumb + 1, thumb + 3), buf.subarray(thumb + 3)], 100);
    expect(got.lines).toEqual(['{"emoji":"👍","u":"ü"}']);
  });

  it('emits a last line that has no newline when the input ends', async () => {
    expect((await run(['one\ntw', 'o'], 10)).lines).toEqual(['one', 'two']);
  });

  it('drops an over-long line that arrives in many chunks without holding it, then goes on', async () => {
    const chunks = [...Array.from({ length: 100 }, () => 'x'.repeat(50)), '\nafter\n'];
    const got = await run(chunks, 120);
    expect(got.lines).toEqual(['after']);
    expect(got.long).toHaveLength(1);
    expect(got.long[0]?.head.startsWith('x'.repeat(50))).toBe(true);
    expect(got.long[0]?.length).toBeUndefined();
  });

  it('reports the length of an over-long line that arrived complete', async () => {
    const got = await run([`${'y'.repeat(30)}\nok\n`], 20);
    expect(got.long).toEqual([{ head: 'y'.repeat(30), length: 30 }]);
    expect(got.lines).toEqual(['ok']);
  });

  it('accepts a line of exactly maxLength characters, also with \\r\\n', async () => {
    const line = 'z'.repeat(20);
    const got = await run([line.slice(0, 7), `${line.slice(7)}\r`, `\n${line}\r\n`], 20);
    expect(got.lines).toEqual([line, line]);
    expect(got.long).toEqual([]);
  });

  it('accepts a line of the default 16 MiB limit arriving in 64 KiB chunks', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const chunks: Buffer[] = Array.from({ length: 256 }, () => chunk);
    chunks.push(Buffer.from('\n{"after":true}\n'));
    const got = await run(chunks, 16 * 1024 * 1024);
    expect(got.long).toEqual([]);
    expect(got.lines.map((l) => l.length)).toEqual([16 * 1024 * 1024, 14]);
  });
});
