"""Init (sys.path, logging, handler import) and the invoke loop."""

import json
import logging
import os
import sys
import time

from . import errors
from .client import RuntimeClient
from .context import LambdaContext
from .loader import load_handler
from .marshal import marshal_result, to_json, unmarshal_event

_request_id = None


class _Unbuffered:
    """Every write reaches the pipe at once, so the agent can file it under the right invocation."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        written = self._stream.write(text)
        self._stream.flush()
        return written

    def writelines(self, lines):
        self._stream.writelines(lines)
        self._stream.flush()

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _request_id or ""
        return True


def _configure_logging():
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
            "%Y-%m-%dT%H:%M:%S",
        )
    )
    handler.addFilter(_RequestIdFilter())
    logging.getLogger().addHandler(handler)


def _adopt_function_environment():
    """A standby runtime (LAMINA_STANDBY=1) is started before its function is known.

    The interpreter and this client's modules load while the environment waits in the warm
    pool; the agent then writes the function's environment and working directory to stdin,
    once (one line), and the process adopts them as if it had been started with them.
    """
    message = json.loads(sys.stdin.buffer.readline())
    at_start = dict(os.environ)
    os.environ.clear()
    os.environ.update(message["env"])
    # Locale coercion (PEP 538) sets LC_CTYPE at start-up when the locale is missing; the
    # agent only hands over when the locale variables match, so a fresh start would too.
    if "LC_CTYPE" in at_start and "LC_CTYPE" not in message["env"]:
        os.environ["LC_CTYPE"] = at_start["LC_CTYPE"]
    os.chdir(message["cwd"])
    time.tzset()


def _configure_sys_path(runtime_dir):
    # Lambda's order: task root, then the layer's site-packages, then the layer's python/,
    # then the AWS SDK the runtime includes (boto3, beside this client in the runtime
    # directory): a function or layer that brings its own boto3 gets its own.
    task_root = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
    opt_root = os.environ.pop("LAMINA_OPT_ROOT", "/opt")
    version = "python{}.{}".format(sys.version_info.major, sys.version_info.minor)
    sdk = os.path.join(os.path.dirname(runtime_dir), "python-sdk")
    layers = ["{}/python/lib/{}/site-packages".format(opt_root, version), "{}/python".format(opt_root)]
    front = [task_root, *layers, sdk]
    rest = [p for p in sys.path if p not in front and os.path.abspath(p or ".") != runtime_dir]
    sys.path[:] = front + rest


def _handle(client, handler, invocation):
    global _request_id
    headers = invocation.headers
    request_id = invocation.request_id
    _request_id = request_id
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)

    error = None
    try:
        client_context = _json_header(headers.get("lambda-runtime-client-context"), "Client Context")
        identity = _json_header(headers.get("lambda-runtime-cognito-identity"), "Cognito Identity")
        context = LambdaContext(
            request_id,
            client_context,
            identity,
            int(headers.get("lambda-runtime-deadline-ms", "0")),
            headers.get("lambda-runtime-invoked-function-arn"),
            headers.get("lambda-runtime-aws-tenant-id"),
        )
        event = unmarshal_event(invocation.body, headers.get("content-type", "application/json"))
        result, content_type = marshal_result(handler(event, context))
    except errors.FaultException as e:
        error = errors.make_error(e.msg, e.exception_type, e.trace, request_id)
    except Exception:
        error = errors.error_from_exception(sys.exc_info(), request_id)

    if error is not None:
        errors.log_error(error)
        client.post_error(request_id, to_json(error), error["errorType"])
    else:
        client.post_response(request_id, result, content_type)


def _json_header(value, name):
    if not value:
        return None
    try:
        return json.loads(value)
    except Exception as e:
        raise errors.FaultException(errors.CONTEXT_UNMARSHAL_ERROR, "Unable to parse {} JSON: {}".format(name, e))


def main(runtime_dir):
    sys.stdout = _Unbuffered(sys.stdout)
    sys.stderr = _Unbuffered(sys.stderr)
    address = os.environ["AWS_LAMBDA_RUNTIME_API"]
    client = RuntimeClient(address)
    if os.environ.get("LAMINA_STANDBY"):
        client.ping()  # the connection is open before the function arrives
        _adopt_function_environment()
        if os.environ["AWS_LAMBDA_RUNTIME_API"] != address:
            client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    _configure_sys_path(runtime_dir)
    _configure_logging()

    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except errors.FaultException as e:
        error = errors.make_error(e.msg, e.exception_type, e.trace)
        errors.log_error(error)
        client.post_init_error(to_json(error), e.exception_type)
        sys.exit(1)
    except Exception:
        # Anything the module raised while being imported is an Init error of that type.
        error = errors.error_from_exception(sys.exc_info())
        errors.log_error(error)
        client.post_init_error(to_json(error), error["errorType"])
        sys.exit(1)

    while True:
        _handle(client, handler, client.next())
