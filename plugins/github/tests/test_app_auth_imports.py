"""Importing the auth package must not pull in PyJWT or cryptography."""

from __future__ import annotations

import subprocess
import sys
import textwrap

_PROBE = textwrap.dedent(
    """
    import sys
    print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in ("jwt", "cryptography"))))
    """
)


def _loaded_after(*lines: str) -> list[str]:
    script = "\n".join(lines) + _PROBE
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return [m for m in result.stdout.strip().split(",") if m]


def test_auth_package_and_modules_import_without_jwt_or_cryptography() -> None:
    loaded = _loaded_after(
        "import kradle_providers.auth",
        "import kradle_providers.auth.schemes",
        "import kradle_providers.auth.refs",
        "import kradle_provider_github.app_auth",
        "from kradle_provider_github.app_auth import GitHubAppAuth",
        "GitHubAppAuth(1, 'unused-key-material', 2)",
    )
    assert loaded == []


def test_signing_a_jwt_does_load_them() -> None:
    # Guards the test above: the probe really sees the libraries once used.
    loaded = _loaded_after(
        "import sys",
        "from kradle_provider_github.app_auth import app_jwt",
        "assert 'jwt' not in sys.modules",
        "from cryptography.hazmat.primitives.asymmetric import rsa",
        "from cryptography.hazmat.primitives import serialization as s",
        "k = rsa.generate_private_key(public_exponent=65537, key_size=1024)",
        "pem = k.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption())",
        "app_jwt(1, pem.decode(), 1_700_000_000)",
    )
    assert "jwt" in loaded and "cryptography" in loaded
