// console.* writes lines the way Lambda's Node.js runtime does:
// `<ISO time>\t<request id>\t<LEVEL>\t<message>` ("undefined" as the id during Init).
//
// The write is synchronous, as Lambda's (a blocking write to its log descriptor): a handler
// that logs faster than the log is read waits for it, instead of queueing the lines in its own
// memory, which at 128 MB is soon an out-of-memory kill.
import { writeSync } from 'node:fs';
import { format } from 'node:util';

const STDOUT = 1;
const pause = new Int32Array(new SharedArrayBuffer(4));

/** Writes all of `text` to stdout, waiting while the pipe is full. */
export function writeLog(text) {
  let bytes = Buffer.from(text);
  while (bytes.length > 0) {
    try {
      bytes = bytes.subarray(writeSync(STDOUT, bytes));
    } catch (err) {
      // Once anything touches process.stdout, libuv makes the shared pipe non-blocking.
      if (err?.code !== 'EAGAIN') return; // the log is gone (EPIPE): logging never fails a handler
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

let requestId;

export function setRequestId(id) {
  requestId = id;
}

const write = (level) =>
  function (...args) {
    writeLog(`${new Date().toISOString()}\t${requestId}\t${level}\t${format(...args)}\n`);
  };

export function patchConsole() {
  console.log = write('INFO');
  console.info = write('INFO');
  console.warn = write('WARN');
  console.error = write('ERROR');
  console.debug = write('DEBUG');
  console.trace = function (...args) {
    const err = new Error(format(...args));
    err.name = 'Trace';
    write('TRACE')(err.stack);
  };
  console.fatal = write('FATAL');
}

/** "Invoke Error", "Uncaught Exception" … followed by the error as JSON, as the AWS client logs it. */
export function logError(label, error) {
  const described =
    error instanceof Error
      ? { errorType: error.name, errorMessage: error.message, stack: error.stack?.split('\n') ?? [] }
      : error;
  let text;
  try {
    text = JSON.stringify(described);
  } catch {
    text = String(described);
  }
  write('ERROR')(`${label} \t${text}`);
}
