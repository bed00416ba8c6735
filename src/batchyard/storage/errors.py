"""What storage raises: one type naming the path and the cause, so no botocore or fsspec error leaks.

Callers (the runner's log, input and output copies) decide whose fault a failure is; they only need to
know which path failed, why, and whether the source was simply missing (``NotFound``).
"""

from __future__ import annotations


class StorageError(Exception):
    """A copy failed: the store is unreachable or refused, or a path cannot be used as asked.

    ``path`` is the path that failed, a remote URL (``cos://bucket/key``) or a local file; ``cause``
    is the underlying exception (also chained as ``__cause__``) or a sentence saying what was wrong.
    """

    def __init__(self, path: str, cause: BaseException | str) -> None:
        super().__init__(f"{path}: {_describe(cause)}")
        self.path = path
        self.cause = cause

    @property
    def missing(self) -> bool:
        """True only for ``NotFound``: the source does not exist, which a retry will not change."""
        return False


class NotFound(StorageError):
    """The source of a copy does not exist: no object or prefix at a remote path, no local file."""

    @property
    def missing(self) -> bool:
        return True


def _describe(cause: BaseException | str) -> str:
    if isinstance(cause, str):
        return cause
    text = str(cause) or type(cause).__name__
    return text if isinstance(cause, OSError | StorageError) else f"{type(cause).__name__}: {text}"
