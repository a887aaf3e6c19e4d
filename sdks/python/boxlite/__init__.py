"""boxlite: micro-VM boxes for running code you do not trust, from Python.

The API is the reference BoxLite SDK's (docs/python.md): an async
:class:`Boxlite` runtime, :class:`Box` handles, :class:`Execution` for a
running command, and :class:`SimpleBox` on top. The native half
(``boxlite.boxlite``) is a C extension over libboxlite.
"""

from . import errors
from .box import Box, BoxInfo, BoxMetrics, BoxStateInfo
from .errors import BoxliteError
from .exec import ExecResult
from .files import EntryInfo, Files
from .network import BoxConnection, BoxTunnel, NetworkHandle
from .images import ImageHandle, ImageInfo, ImagePullResult
from .execution import ExecStderr, ExecStdin, ExecStdout, Execution
from .options import (AdvancedBoxOptions, ApiKeyCredential, BoxliteRestOptions, BoxOptions, ContainerCapabilities,
                      CopyOptions, HealthCheckOptions, ImageRegistry, NetworkSpec, Options, Secret, SecurityOptions)
from .runtime import Boxlite, RuntimeMetrics
from .simplebox import SimpleBox
from .snapshots import SnapshotHandle, SnapshotInfo
from .codebox import CodeBox
from .interactivebox import InteractiveBox
from .boxlite import version as _native_version

__version__ = _native_version()

__all__ = [
    "AdvancedBoxOptions", "ApiKeyCredential", "BoxliteRestOptions", "Box", "BoxInfo", "BoxMetrics", "BoxOptions", "BoxStateInfo", "Boxlite", "BoxliteError",
    "ContainerCapabilities", "CopyOptions", "ExecResult", "ExecStderr", "ExecStdin", "ExecStdout", "Execution",
    "HealthCheckOptions", "ImageRegistry", "NetworkSpec", "Options", "RuntimeMetrics", "Secret", "SecurityOptions",
    "SimpleBox", "EntryInfo", "Files", "NetworkHandle", "BoxTunnel", "BoxConnection", "ImageHandle", "ImageInfo", "ImagePullResult", "CodeBox", "InteractiveBox",
    "SnapshotHandle", "SnapshotInfo",
    "errors",
]
