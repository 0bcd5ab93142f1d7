"""A real OpenID Connect provider for the sign-in tests: ``oidc-provider-mock`` on a free port
in a thread of the test process, with one seeded user per role.

The provider signs real ID tokens and serves discovery, authorize, token and userinfo; its
authorize page offers the seeded users as buttons (their ``sub``), which a browser test clicks.
Any client id and secret are accepted. Plain http on localhost needs
``AUTHLIB_INSECURE_TRANSPORT=1`` in the Streamlit server's environment.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

#: seeded users: their ``sub`` (the button on the provider's page) and groups
USERS: dict[str, tuple[str, ...]] = {
    "ada-admin": ("proofboard-admins",),
    "ann-analyst": ("proofboard-analysts",),
    "vic-viewer": ("stakeholders",),
    "nora-norole": ("marketing",),
}
ROLE_MAP = {
    "proofboard-admins": "admin",
    "proofboard-analysts": "analyst",
    "stakeholders": "viewer",
}


@dataclass(frozen=True)
class Provider:
    """A running provider: its base address (the issuer)."""

    url: str

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"


@contextmanager
def oidc_provider() -> Iterator[Provider]:
    """The provider with :data:`USERS`, stopped when the block ends."""
    from oidc_provider_mock import User, run_server_in_thread

    users = [
        User(sub=sub, claims={"email": f"{sub}@example.org", "name": sub, "groups": list(groups)})
        for sub, groups in USERS.items()
    ]
    with run_server_in_thread(port=0, user_claims=users) as server:
        yield Provider(f"http://localhost:{server.server_port}")


def write_secrets(folder: Path, *, provider: Provider, app_port: int) -> Path:
    """A secrets.toml with ``[auth]`` for ``provider`` and the role mapping of :data:`ROLE_MAP`,
    for a Streamlit server on ``app_port``."""
    path = folder / "secrets.toml"
    roles = "\n".join(f'"{group}" = "{role}"' for group, role in ROLE_MAP.items())
    path.write_text(
        f"""[auth]
redirect_uri = "http://localhost:{app_port}/oauth2callback"
cookie_secret = "{secrets.token_hex(32)}"
client_id = "proofboard"
client_secret = "{secrets.token_hex(16)}"
server_metadata_url = "{provider.metadata_url}"

[proofboard.roles]
claim = "groups"
[proofboard.roles.map]
{roles}

[proofboard.privacy]
pseudonym_key = "{secrets.token_hex(32)}"
""",
        encoding="utf-8",
    )
    return path
