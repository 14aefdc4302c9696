"""The one error type the converters raise for bad input; the CLI prints it without a traceback."""


class ConvertError(Exception):
    """Input that cannot be converted: the message names the input, the problem and the fix."""
