"""Which databases a person may connect the dashboard to: an allowlist of schemes and hosts, and
SQLite files only inside the allowed folders (``data/`` by default).

The dashboard's "Connect a database" takes a URL typed by a user. Without a check, that user
could read or overwrite any SQLite file the server can reach, or make the server connect to any
host. :class:`ConnectPolicy` refuses every URL outside what the administrator allowed in
``[proofboard.connect]`` of ``.streamlit/secrets.toml``::

    [proofboard.connect]
    allowed_schemes = ["sqlite", "postgresql+psycopg"]  # a dialect, or dialect+driver
    allowed_hosts = ["db.internal.example.org", "*.analytics.example.org"]
    sqlite_folders = ["data"]  # relative to the repository

Nothing configured means: SQLite files inside ``data/`` only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analytics.errors import DataSourceError
from analytics.io.source import mask_url, parse_url

__all__ = ["ConnectPolicy", "ConnectRefused"]

#: the repository's root and its data folder (the embedded database lives there)
REPO_ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = REPO_ROOT / "data"
#: URL query keys that would send a driver to another host or file than the URL's own
_REDIRECTING_KEYS = frozenset({"host", "hostaddr", "service", "unix_socket", "passfile", "uri"})


class ConnectRefused(DataSourceError):
    """A database URL outside the allowlist."""


def _texts(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, Sequence):
        return tuple(str(v) for v in value)
    raise ConnectRefused(
        f'[proofboard.connect] {name} must be a list of texts, e.g. {name} = ["..."].'
    )


@dataclass(frozen=True)
class ConnectPolicy:
    """The schemes, hosts and SQLite folders a typed database URL may use."""

    allowed_schemes: tuple[str, ...] = ("sqlite",)
    allowed_hosts: tuple[str, ...] = ()
    sqlite_folders: tuple[Path, ...] = (DATA_DIR,)

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any] | None) -> ConnectPolicy:
        """The policy of a ``[proofboard.connect]`` section (missing keys keep the defaults;
        relative folders are taken from the repository's root)."""
        settings = dict(settings or {})
        schemes = _texts(settings.get("allowed_schemes", ("sqlite",)), "allowed_schemes")
        hosts = _texts(settings.get("allowed_hosts", ()), "allowed_hosts")
        folders = _texts(settings.get("sqlite_folders", (str(DATA_DIR),)), "sqlite_folders")
        return cls(
            allowed_schemes=tuple(s.strip().lower() for s in schemes if s.strip()),
            allowed_hosts=tuple(h.strip().lower() for h in hosts if h.strip()),
            sqlite_folders=tuple(
                (Path(f) if Path(f).is_absolute() else REPO_ROOT / f) for f in folders
            ),
        )

    def _scheme_allowed(self, backend: str, drivername: str) -> bool:
        return backend in self.allowed_schemes or drivername.lower() in self.allowed_schemes

    def _host_allowed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        for allowed in self.allowed_hosts:
            if allowed.startswith("*.") and host.endswith(allowed[1:]) and host != allowed[2:]:
                return True
            if host == allowed:
                return True
        return False

    def _inside_folders(self, database: str) -> bool:
        # SQLite opens a relative path from the working directory; resolve() follows symlinks
        # and removes "..", so a link or a climb out of the folder is seen for what it is.
        path = Path(database).expanduser()
        resolved = (path if path.is_absolute() else Path.cwd() / path).resolve()
        return any(resolved.is_relative_to(folder.resolve()) for folder in self.sqlite_folders)

    def check(self, url: str) -> None:
        """Raise :class:`ConnectRefused`, with what to change, unless ``url`` is allowed."""
        shown = mask_url(url)
        parsed = parse_url(url)
        backend = parsed.get_backend_name()
        if not self._scheme_allowed(backend, parsed.drivername):
            allowed = ", ".join(self.allowed_schemes) or "none"
            raise ConnectRefused(
                f"Connecting to {shown} is not allowed here: the database kind "
                f"'{parsed.drivername}' is not in the allowlist (allowed: {allowed}). Fix: ask "
                "the administrator to add it to allowed_schemes under [proofboard.connect] in "
                ".streamlit/secrets.toml."
            )
        if backend == "sqlite":
            database = parsed.database or ""
            if not database or database == ":memory:" or database.startswith("file:"):
                raise ConnectRefused(
                    f"Connecting to {shown} is not allowed here: only SQLite database files "
                    "inside the allowed folders can be connected. Fix: use sqlite:///data/"
                    "NAME.db."
                )
            if any(key.lower() == "uri" for key in parsed.query):
                raise ConnectRefused(
                    f"Connecting to {shown} is not allowed here: SQLite URI file names "
                    "(?uri=true) are refused. Fix: use a plain path, sqlite:///data/NAME.db."
                )
            if not self._inside_folders(database):
                folders = ", ".join(str(f) for f in self.sqlite_folders) or "none"
                raise ConnectRefused(
                    f"Connecting to {shown} is not allowed here: SQLite files must lie inside "
                    f"{folders} (after following links and '..'). Fix: copy the database into "
                    "that folder, or ask the administrator to add its folder to sqlite_folders "
                    "under [proofboard.connect] in .streamlit/secrets.toml."
                )
            return
        redirecting = sorted(k for k in parsed.query if k.lower() in _REDIRECTING_KEYS)
        if redirecting:
            raise ConnectRefused(
                f"Connecting to {shown} is not allowed here: the URL option(s) "
                f"{', '.join(redirecting)} would choose another host or file than the URL's own. "
                "Fix: put the host into the URL (dialect+driver://user:password@host:port/db)."
            )
        host = parsed.host or ""
        if not host or not self._host_allowed(host):
            allowed = ", ".join(self.allowed_hosts) or "none"
            raise ConnectRefused(
                f"Connecting to {shown} is not allowed here: the host '{host or '(none)'}' is not "
                f"in the allowlist (allowed: {allowed}). Fix: ask the administrator to add it "
                "to allowed_hosts under [proofboard.connect] in .streamlit/secrets.toml."
            )
