"""Errors raised by boxlite.

Every failure of the runtime (the native layer) raises a subclass of both
:class:`BoxliteError` and the builtin the reference SDK raises for it
(``RuntimeError``, and ``ValueError`` for bad arguments), chosen by the
library's error class; the message is the library's own. The Python helper
boxes raise :class:`ExecError`, :class:`TimeoutError` and :class:`ParseError`
as the reference does.
"""

import builtins

__all__ = [
    "BoxliteError",
    "BoxliteRuntimeError",
    "NotFoundError",
    "AlreadyExistsError",
    "InvalidArgumentError",
    "InvalidStateError",
    "PermissionDeniedError",
    "UnsupportedError",
    "TimeoutError",
    "ExecError",
    "ParseError",
]


class BoxliteError(Exception):
    """Base class of every boxlite error."""


class BoxliteRuntimeError(BoxliteError, RuntimeError):
    """A failure of the runtime that fits no narrower class."""


class NotFoundError(BoxliteError, LookupError, RuntimeError):
    """No such box, image or file."""


class AlreadyExistsError(BoxliteError, RuntimeError):
    """A box with that name exists already."""


class InvalidArgumentError(BoxliteError, ValueError, RuntimeError):
    """An option or argument the runtime refused."""


class InvalidStateError(BoxliteError, RuntimeError):
    """The box is not in a state that allows the call (not running, running, ...)."""


class PermissionDeniedError(BoxliteError, builtins.PermissionError, RuntimeError):
    """The runtime was refused access (a registry's credentials, a file)."""


class UnsupportedError(BoxliteError, RuntimeError):
    """Something boxlite does not do (yet); the message says what."""


class TimeoutError(BoxliteError, builtins.TimeoutError, RuntimeError):  # noqa: A001 (as the reference)
    """A wait ran out of time. Shadows the builtin when imported, as in the reference."""


class ExecError(BoxliteError):
    """A command the helper boxes ran failed."""

    def __init__(self, command, exit_code, stderr):
        self.command = command
        self.exit_code = exit_code
        self.stderr = stderr
        super().__init__(f"command {command!r} exited with {exit_code}: {stderr}")


class ParseError(BoxliteError):
    """Output of a command could not be parsed."""
