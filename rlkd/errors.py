"""One exception type for every user-facing mistake: a one-line message that names the fix."""


class RLKDError(ValueError):
    """Bad input (config, names, shapes, paths). Entry points print ``error: <message>`` and exit 2."""

    def __init__(self, message: str) -> None:
        # Keep it to one line: CLI users read the last line, log scrapers read one line.
        super().__init__(" ".join(str(message).split()))


def require(ok: bool, key: str, message: str) -> None:
    """A range check at config build: one line naming the full key (``optim.lr: must be > 0``)."""
    if not ok:
        raise RLKDError(f"{key}: {message}")
