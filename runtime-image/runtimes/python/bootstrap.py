"""Lamina's Python runtime client (python3.13): `python3 /var/runtime/python/bootstrap.py`.

It speaks only the Lambda Runtime API (stdlib only), and follows the programming model of
AWS's awslambdaric: `module.function` handlers, the LambdaContext object, and the error
documents Lambda returns.
"""

import os
import sys

# Our package sits beside this file; once imported, this directory leaves sys.path so a
# user module can never be shadowed by (or shadow) the runtime's own modules.
_HERE = os.path.dirname(os.path.abspath(__file__))

from lamina_runtime.main import main  # noqa: E402

if __name__ == "__main__":
    main(_HERE)
