"""The one exception family whose message is written for the person who caused it (shown as-is)."""


class AccordError(Exception):
    """A problem the user can act on; its message is one plain sentence, never a traceback."""
