// Writing a streamed response at the caller's pace: the next chunk is read from the function
// only once the socket has taken this one (or the caller has gone).
import type { ServerResponse } from 'node:http';

/** Resolves once `chunk` is written and the socket can take more (or the caller left). */
export function writeWithBackpressure(out: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (chunk.length === 0 || out.destroyed || out.write(chunk)) return resolve();
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.on('drain', done);
    out.on('close', done);
  });
}
