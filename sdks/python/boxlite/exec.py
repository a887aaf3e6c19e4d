"""The result of a finished command as the helper boxes return it."""

from dataclasses import dataclass
from typing import Optional

__all__ = ["ExecResult"]


@dataclass
class ExecResult:
    """``exit_code`` (negative: killed by that signal), all of ``stdout`` and
    ``stderr``, and ``error_message`` when the command died unexpectedly."""

    exit_code: int
    stdout: str
    stderr: str
    error_message: Optional[str] = None
