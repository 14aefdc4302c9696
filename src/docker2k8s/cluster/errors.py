"""The error every cluster operation raises for a problem the user can fix."""


class ClusterError(Exception):
    """A failure with a message that says what went wrong and what to do next."""
