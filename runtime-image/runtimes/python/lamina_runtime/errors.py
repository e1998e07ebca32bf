"""Error documents in the shape AWS's Python runtime returns them [LAMBDA-SPEC §7]."""

import os
import sys
import traceback

IMPORT_MODULE_ERROR = "Runtime.ImportModuleError"
BUILT_IN_MODULE_CONFLICT = "Runtime.BuiltInModuleConflict"
HANDLER_NOT_FOUND = "Runtime.HandlerNotFound"
MALFORMED_HANDLER_NAME = "Runtime.MalformedHandlerName"
USER_CODE_SYNTAX_ERROR = "Runtime.UserCodeSyntaxError"
MARSHAL_ERROR = "Runtime.MarshalError"
UNMARSHAL_ERROR = "Runtime.UnmarshalError"
CONTEXT_UNMARSHAL_ERROR = "Runtime.LambdaContextUnmarshalError"

_RUNTIME_DIR = os.path.dirname(os.path.abspath(__file__))


class FaultException(Exception):
    """A failure the runtime diagnoses itself (bad handler, unserialisable result …)."""

    def __init__(self, exception_type, msg, trace=None):
        super().__init__(msg)
        self.exception_type = exception_type
        self.msg = msg
        self.trace = trace


def make_error(error_message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": error_message if error_message else "",
        "errorType": error_type if error_type else "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace if stack_trace else [],
    }


def user_frames(tb):
    """Frames of the traceback from the first one outside this runtime (the user's code)."""
    frames = traceback.extract_tb(tb)
    for i, frame in enumerate(frames):
        if not frame.filename.startswith(_RUNTIME_DIR):
            return frames[i:]
    return frames


def error_from_exception(exc_info, request_id=None):
    etype, value, tb = exc_info
    return make_error(str(value), etype.__name__, traceback.format_list(user_frames(tb)), request_id)


def log_error(error):
    """`[ERROR] Type: message` and the traceback, on stdout like the AWS client."""
    lines = ["[ERROR] {}: {}".format(error.get("errorType"), error.get("errorMessage"))]
    stack = error.get("stackTrace")
    if stack:
        lines.append("Traceback (most recent call last):")
        for entry in stack:
            lines.extend(entry.rstrip("\n").splitlines())
    sys.stdout.write("\n".join(lines) + "\n")
