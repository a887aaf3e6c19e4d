"""CodeBox: a SimpleBox for Python code (the reference's, on boxlite's
built-in Python image by default)."""

from __future__ import annotations

import shlex
from typing import Any, Optional

from .simplebox import SimpleBox

__all__ = ["CodeBox"]

DEFAULT_IMAGE = "localhost/python:3.11"


class CodeBox(SimpleBox):
    """Runs Python code in a box: ``run(code)`` returns what it printed."""

    def __init__(self, image: str = DEFAULT_IMAGE, memory_mib: Optional[int] = None, cpus: Optional[int] = None,
                 runtime: Any = None, **kwargs: Any) -> None:
        kwargs.pop("rootfs_path", None)
        super().__init__(image=image, memory_mib=memory_mib, cpus=cpus, runtime=runtime, **kwargs)

    async def run(self, code: str, timeout: Optional[float] = None) -> str:
        """Runs ``python3 -c code`` and returns its stdout (stderr is dropped,
        as in the reference; use exec() for both). A fresh interpreter per
        call: nothing is kept between runs. ``timeout``, when given, ends it."""
        await self.start()
        return (await self.exec("python3", "-c", code, timeout=timeout)).stdout

    async def run_script(self, host_path: str) -> str:
        """Runs a Python file of the host; returns its stdout."""
        with open(host_path) as f:
            return await self.run(f.read())

    async def install_package(self, package: str) -> str:
        """pip-installs a package; returns pip's stdout and stderr (its own
        error when the box has no network or no index). The index is pip's:
        set PIP_INDEX_URL in the box's env for another one."""
        return await self.install_packages(package)

    async def install_packages(self, *packages: str) -> str:
        """pip-installs packages; returns pip's stdout and stderr."""
        await self.start()
        # Debian's Python is "externally managed" (PEP 668): a box is its own
        # environment, so pip may install into it.
        r = await self.exec("python3", "-m", "pip", "install", "--no-input", "--disable-pip-version-check",
                            "--break-system-packages", *packages)
        return r.stdout + r.stderr
