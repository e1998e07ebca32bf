// console.* writes lines the way Lambda's Node.js runtime does:
// `<ISO time>\t<request id>\t<LEVEL>\t<message>` ("undefined" as the id during Init).
import { format } from 'node:util';

let requestId;

export function setRequestId(id) {
  requestId = id;
}

const write = (level) =>
  function (...args) {
    process.stdout.write(`${new Date().toISOString()}\t${requestId}\t${level}\t${format(...args)}\n`);
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
