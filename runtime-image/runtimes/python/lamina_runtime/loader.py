"""Turns _HANDLER ("module.function", "pkg/mod.function") into the handler callable."""

import importlib
import sys

from . import errors


def load_handler(handler):
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as e:
        raise errors.FaultException(errors.MALFORMED_HANDLER_NAME, "Bad handler '{}': {}".format(handler, e))

    try:
        if module_name.split(".")[0] in sys.builtin_module_names:
            raise errors.FaultException(
                errors.BUILT_IN_MODULE_CONFLICT,
                "Cannot use built-in module {} as a handler module".format(module_name),
            )
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as e:
        raise errors.FaultException(
            errors.IMPORT_MODULE_ERROR, "Unable to import module '{}': {}".format(module_name, e)
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise errors.FaultException(
            errors.USER_CODE_SYNTAX_ERROR, "Syntax error in module '{}': {}".format(module_name, e), trace
        )

    try:
        return getattr(module, function_name)
    except AttributeError:
        raise errors.FaultException(
            errors.HANDLER_NOT_FOUND, "Handler '{}' missing on module '{}'".format(function_name, module_name)
        )
