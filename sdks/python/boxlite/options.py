"""Options of the runtime and of boxes, with the reference SDK's names,
keywords and defaults (docs/python.md). A keyword boxlite cannot honour
raises :class:`~boxlite.errors.UnsupportedError` naming it; nothing is
silently ignored."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from .errors import InvalidArgumentError, UnsupportedError

__all__ = [
    "Options",
    "ImageRegistry",
    "BoxOptions",
    "NetworkSpec",
    "CopyOptions",
    "AdvancedBoxOptions",
    "ContainerCapabilities",
    "SecurityOptions",
    "HealthCheckOptions",
    "Secret",
]

DEFAULT_IMAGE = "alpine:latest"
DEFAULT_MEMORY_MIB = 1024  # the reference core's default at HEAD


class ImageRegistry:
    """A registry the runtime pulls from: ``host[:port]``, ``transport`` https
    or http, ``skip_verify`` (no TLS verification), ``search`` (unqualified
    image names are tried here, in list order), and basic auth
    (``username`` with ``password``) or a ``bearer_token`` (which wins)."""

    def __init__(self, host: str, transport: str = "https", skip_verify: bool = False, search: bool = False,
                 username: Optional[str] = None, password: Optional[str] = None,
                 bearer_token: Optional[str] = None) -> None:
        if not host:
            raise InvalidArgumentError("image registry: host is required")
        if "://" in host or "/" in host:
            raise InvalidArgumentError(f"image registry {host!r}: host must be host[:port]")
        if transport not in ("", "https", "http"):
            raise InvalidArgumentError(f"image registry {host}: unsupported registry transport {transport!r}")
        if (username is None) != (password is None):
            raise InvalidArgumentError(f"image registry {host}: username and password must be provided together")
        self.host = host
        self.transport = transport or "https"
        self.skip_verify = bool(skip_verify)
        self.search = bool(search)
        self.username = None if bearer_token else username
        self.password = None if bearer_token else password
        self.bearer_token = bearer_token

    def _native(self) -> Dict[str, Any]:
        return {"host": self.host, "transport": self.transport, "skip_verify": self.skip_verify,
                "search": self.search, "username": self.username, "password": self.password,
                "token": self.bearer_token}

    def __repr__(self) -> str:
        secret = ", password=***" if self.password else ", bearer_token=***" if self.bearer_token else ""
        user = f", username={self.username!r}" if self.username else ""
        return (f"ImageRegistry(host={self.host!r}, transport={self.transport!r}, skip_verify={self.skip_verify}, "
                f"search={self.search}{user}{secret})")


class Options:
    """Runtime options: ``home_dir`` (default ``$BOXLITE_HOME``, else
    ``~/.boxlite``) and ``image_registries`` (a list of :class:`ImageRegistry`)."""

    def __init__(self, home_dir: Optional[str] = None,
                 image_registries: Optional[Sequence[ImageRegistry]] = None) -> None:
        self.home_dir = home_dir
        self.image_registries = list(image_registries or [])
        for r in self.image_registries:
            if not isinstance(r, ImageRegistry):
                raise TypeError("image_registries takes ImageRegistry objects")

    def __repr__(self) -> str:
        return f"Options(home_dir={self.home_dir!r}, image_registries={self.image_registries!r})"


class ApiKeyCredential:
    """A long-lived API key, sent as ``Authorization: Bearer``."""

    def __init__(self, key: str) -> None:
        if not isinstance(key, str) or not key:
            raise ValueError("ApiKeyCredential needs a non-empty key")
        self._key = key

    def __repr__(self) -> str:
        return "ApiKeyCredential(***)"  # never the key


class BoxliteRestOptions:
    """Where a remote runtime is (:meth:`Boxlite.rest`): the server's ``url``
    (``boxlite serve``'s, e.g. ``http://127.0.0.1:8100``), its ``credential``
    (an :class:`ApiKeyCredential`, or None) and the API's ``path_prefix``
    routing slot (None: none)."""

    def __init__(self, url: str, credential: Optional[ApiKeyCredential] = None,
                 path_prefix: Optional[str] = None) -> None:
        if not isinstance(url, str) or not url:
            raise ValueError("BoxliteRestOptions needs a url")
        if credential is not None and not isinstance(credential, ApiKeyCredential):
            raise TypeError("credential takes an ApiKeyCredential")
        self.url = url
        self.credential = credential
        self.path_prefix = path_prefix

    @classmethod
    def from_env(cls) -> "BoxliteRestOptions":
        """From BOXLITE_REST_URL (required), BOXLITE_API_KEY and
        BOXLITE_REST_PATH_PREFIX, as the reference reads them."""
        url = os.environ.get("BOXLITE_REST_URL")
        if not url:
            raise RuntimeError("BOXLITE_REST_URL not set")
        key = os.environ.get("BOXLITE_API_KEY")
        return cls(url, ApiKeyCredential(key) if key else None, os.environ.get("BOXLITE_REST_PATH_PREFIX") or None)

    def __repr__(self) -> str:
        return f"BoxliteRestOptions(url={self.url!r}, credential={self.credential!r}, path_prefix={self.path_prefix!r})"


class NetworkSpec:
    """``mode`` "enabled" (default) or "disabled", and ``allow_net``: when not
    empty, the box reaches only these hosts, ``*.domains``, IPs and CIDRs."""

    def __init__(self, mode: str = "enabled", allow_net: Optional[Sequence[str]] = None) -> None:
        self.mode = mode
        self.allow_net = list(allow_net or [])

    def __repr__(self) -> str:
        return f"NetworkSpec(mode={self.mode!r}, allow_net={self.allow_net!r})"


class CopyOptions:
    """docker cp semantics: ``recursive``, ``overwrite``, ``follow_symlinks``
    (copy what a symlink source points to), ``include_parent`` (copying out a
    directory: the directory itself, else only its contents)."""

    def __init__(self, recursive: bool = True, overwrite: bool = True, follow_symlinks: bool = False,
                 include_parent: bool = True) -> None:
        self.recursive = recursive
        self.overwrite = overwrite
        self.follow_symlinks = follow_symlinks
        self.include_parent = include_parent


class ContainerCapabilities:
    """Linux capabilities to ``add`` to and ``drop`` from docker's default 14
    (names as in capabilities(7), with or without CAP_, or ALL)."""

    def __init__(self, add: Optional[Sequence[str]] = None, drop: Optional[Sequence[str]] = None) -> None:
        self.add = list(add or [])
        self.drop = list(drop or [])


class SecurityOptions:
    """The reference's security knobs. boxlite always jails a box (namespaces,
    seccomp, cgroups, no privileges: docs/security.md); ``development()`` turns
    the jail off for debugging. rlimits cannot be set per box yet."""

    def __init__(self, jailer_enabled: bool = False, seccomp_enabled: bool = False,
                 max_open_files: Optional[int] = None, max_file_size: Optional[int] = None,
                 max_processes: Optional[int] = None, max_memory: Optional[int] = None,
                 max_cpu_time: Optional[int] = None, network_enabled: bool = True, close_fds: bool = True) -> None:
        self.jailer_enabled = jailer_enabled
        self.seccomp_enabled = seccomp_enabled
        self.max_open_files = max_open_files
        self.max_file_size = max_file_size
        self.max_processes = max_processes
        self.max_memory = max_memory
        self.max_cpu_time = max_cpu_time
        self.network_enabled = network_enabled
        self.close_fds = close_fds

    @staticmethod
    def development() -> "SecurityOptions":
        return SecurityOptions(jailer_enabled=False, seccomp_enabled=False)

    @staticmethod
    def standard() -> "SecurityOptions":
        return SecurityOptions(jailer_enabled=True, seccomp_enabled=True)

    @staticmethod
    def maximum() -> "SecurityOptions":
        return SecurityOptions(jailer_enabled=True, seccomp_enabled=True)


class HealthCheckOptions:
    """Health checks of the reference (interval, timeout, retries, start_period
    in seconds). Not supported by boxlite yet: a box given one is refused."""

    def __init__(self, interval: int = 30, timeout: int = 10, retries: int = 3, start_period: int = 60) -> None:
        self.interval = interval
        self.timeout = timeout
        self.retries = retries
        self.start_period = start_period


class AdvancedBoxOptions:
    """``security`` (:class:`SecurityOptions`), ``health_check``,
    ``capabilities`` (:class:`ContainerCapabilities`)."""

    def __init__(self, security: Optional[SecurityOptions] = None, health_check: Optional[HealthCheckOptions] = None,
                 capabilities: Optional[ContainerCapabilities] = None) -> None:
        self.security = security
        self.health_check = health_check
        self.capabilities = capabilities or ContainerCapabilities()


class Secret:
    """A secret the box sees only as a placeholder (the reference's secrets).
    Not supported by boxlite yet: a box given one is refused."""

    def __init__(self, name: str, value: str, hosts: Optional[Sequence[str]] = None,
                 placeholder: Optional[str] = None) -> None:
        self.name = name
        self.value = value
        self.hosts = list(hosts or [])
        self.placeholder = placeholder

    def get_placeholder(self) -> str:
        """What the box sees instead of the value."""
        return self.placeholder or f"<BOXLITE_SECRET:{self.name}>"

    def __repr__(self) -> str:
        return f"Secret(name={self.name!r}, value=[REDACTED], hosts={self.hosts!r})"


def _volume(v: Any) -> Tuple[Optional[str], str, bool]:
    if isinstance(v, (tuple, list)) and len(v) in (2, 3):
        host, guest = v[0], v[1]
        ro = bool(v[2]) if len(v) == 3 else False
    elif isinstance(v, dict):
        host = v.get("host", v.get("host_path"))
        guest = v.get("guest", v.get("guest_path"))
        ro = bool(v.get("read_only", v.get("ro", False)))
    else:
        raise InvalidArgumentError(f"volumes: expected (host, guest[, read_only]) or a dict, got {v!r}")
    if not guest:
        raise InvalidArgumentError(f"volumes: {v!r} has no guest path")
    return (os.path.abspath(host) if host else None, guest, ro)


def _port(p: Any) -> Tuple[Optional[str], int, int, str]:
    if isinstance(p, (tuple, list)) and 2 <= len(p) <= 4:
        host, guest = p[0], p[1]
        proto = p[2] if len(p) > 2 and p[2] else "tcp"
        ip = p[3] if len(p) > 3 else None
    elif isinstance(p, dict):
        guest = p.get("guest_port", p.get("guest"))
        if guest is None:
            raise InvalidArgumentError(f"ports: {p!r} has no guest_port")
        host = p.get("host_port", p.get("host", 0))
        proto = p.get("protocol") or "tcp"
        ip = p.get("host_ip")
    else:
        raise InvalidArgumentError(f"ports: expected (host, guest[, proto[, host_ip]]) or a dict, got {p!r}")
    proto = "udp" if str(proto).lower() == "udp" else "tcp"
    if proto == "udp":
        raise InvalidArgumentError(f"ports: UDP is not published (as in the reference): {p!r}")
    return (ip, int(host or 0), int(guest), proto)


class BoxOptions:
    """A box's options: every keyword of the reference SDK (docs/python.md)."""

    def __init__(self, image: Optional[str] = None, rootfs_path: Optional[str] = None, cpus: Optional[int] = None,
                 memory_mib: Optional[int] = None, disk_size_gb: Optional[int] = None,
                 working_dir: Optional[str] = None, env: Optional[Sequence[Tuple[str, str]]] = None,
                 volumes: Optional[Sequence[Any]] = None, network: Optional[NetworkSpec] = None,
                 ports: Optional[Sequence[Any]] = None, auto_remove: Optional[bool] = None,
                 auto_delete: Optional[int] = None, auto_pause: Optional[int] = None,
                 auto_resume: Optional[bool] = None, detach: Optional[bool] = None,
                 entrypoint: Optional[Sequence[str]] = None, cmd: Optional[Sequence[str]] = None,
                 user: Optional[str] = None, advanced: Optional[AdvancedBoxOptions] = None,
                 secrets: Optional[Sequence[Secret]] = None, **unknown: Any) -> None:
        if "allow_net" in unknown:
            raise TypeError("BoxOptions: allow_net is given through network=NetworkSpec(..., allow_net=[...])")
        if unknown:
            raise TypeError(f"BoxOptions: unexpected keyword {sorted(unknown)[0]!r}")
        if network is not None and not isinstance(network, NetworkSpec):
            raise TypeError("BoxOptions: network takes a NetworkSpec")
        self.image = image
        self.rootfs_path = rootfs_path
        self.cpus = cpus
        self.memory_mib = memory_mib
        self.disk_size_gb = disk_size_gb
        self.working_dir = working_dir
        self.env = list(env or [])
        self._volumes = [_volume(v) for v in (volumes or [])]
        self.network = network
        self._ports = [_port(p) for p in (ports or [])]
        self.auto_remove = auto_remove
        self.auto_delete = auto_delete
        self.auto_pause = auto_pause
        self.auto_resume = auto_resume
        self.detach = detach
        self.entrypoint = list(entrypoint) if entrypoint is not None else None
        self.cmd = list(cmd) if cmd is not None else None
        self.user = user
        self.advanced = advanced
        self.secrets = list(secrets or [])

    @property
    def remove_on_stop(self) -> bool:
        """auto_delete, when set, else auto_remove (the legacy default True)."""
        if self.auto_delete is not None:
            return self.auto_delete > 0
        return True if self.auto_remove is None else bool(self.auto_remove)

    def _native(self, name: Optional[str]) -> Dict[str, Any]:
        """The dict the native layer takes; refuses what boxlite cannot honour."""
        if self.auto_pause:
            raise UnsupportedError("BoxOptions.auto_pause: only a REST server pauses idle boxes")
        if self.auto_resume:
            raise UnsupportedError("BoxOptions.auto_resume: only a REST server resumes boxes")
        if self.secrets:
            raise UnsupportedError("BoxOptions.secrets: boxlite does not substitute secrets yet")
        adv = self.advanced
        if adv is not None and adv.health_check is not None:
            raise UnsupportedError("BoxOptions.advanced.health_check: boxlite has no health checks yet")
        sec = adv.security if adv is not None else None
        if sec is not None and any(v is not None for v in (sec.max_open_files, sec.max_file_size, sec.max_processes,
                                                           sec.max_memory, sec.max_cpu_time)):
            raise UnsupportedError("BoxOptions.advanced.security: per-box rlimits are not supported yet")
        remove = self.remove_on_stop
        if self.detach and remove:
            raise InvalidArgumentError("BoxOptions: detach with remove-on-stop is incompatible "
                                       "(set auto_remove=False or auto_delete=0)")
        for k, v in self.env:
            if not isinstance(k, str) or not isinstance(v, str):
                raise InvalidArgumentError(f"BoxOptions.env: expected (key, value) strings, got {(k, v)!r}")
        net = self.network or NetworkSpec()
        mode = (net.mode or "enabled").lower()
        if mode not in ("enabled", "disabled"):
            raise InvalidArgumentError(f"NetworkSpec.mode: 'enabled' or 'disabled', not {net.mode!r}")
        if mode == "disabled" and net.allow_net:
            raise InvalidArgumentError("NetworkSpec: allow_net needs network.mode=\"enabled\"")
        if mode == "disabled" and self._ports:
            raise InvalidArgumentError("ports require network.mode=\"enabled\"")
        image = None if self.rootfs_path else (self.image or DEFAULT_IMAGE)
        return {
            "image": image,
            "rootfs": os.path.abspath(self.rootfs_path) if self.rootfs_path else None,
            "name": name,
            "cpus": self.cpus,
            "memory_mib": self.memory_mib if self.memory_mib is not None else DEFAULT_MEMORY_MIB,
            "disk_size_gb": self.disk_size_gb,
            "working_dir": self.working_dir,
            "env": [f"{k}={v}" for k, v in self.env],
            "volumes": list(self._volumes),
            "ports": list(self._ports),
            "network": mode == "enabled",
            "allow_net": list(net.allow_net),
            "auto_remove": remove,
            "detach": bool(self.detach),
            "entrypoint": self.entrypoint,
            "cmd": self.cmd,
            "user": self.user,
            "cap_add": list(adv.capabilities.add) if adv else [],
            "cap_drop": list(adv.capabilities.drop) if adv else [],
            "security_development": sec is not None and not sec.jailer_enabled,
        }
