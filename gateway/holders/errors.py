class HolderUnavailable(Exception):
    """The holder could not be reached, timed out, or answered something that is not a valid response."""
