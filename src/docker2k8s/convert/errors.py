"""The error the converters raise for bad input: a D2KError (so the CLI root prints it without
a traceback) that exits 2, the code for unusable input."""

from docker2k8s.errors import D2KError


class ConvertError(D2KError):
    """Input that cannot be converted: the message names the input, the problem and the fix."""

    exit_code = 2
