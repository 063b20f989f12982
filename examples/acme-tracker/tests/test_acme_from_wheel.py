"""An outside plugin, installed from wheels into a fresh virtual environment, works end to end.

Nothing of this repository is on the path there: the core, the contract suite
and the Acme plugin are built as wheels and pip-installed (with their
dependencies) into a new venv. There, with no core file knowing Acme:

- ``kradle-providers webhook verify --provider acme`` verifies a delivery signed
  with Acme's own scheme (a class in the plugin: ``X-Acme-Timestamp`` plus a
  hex HMAC-SHA256 of ``"<timestamp>:" + body`` in ``X-Acme-Signature``) and
  rejects a tampered one;
- ``kradle-providers emulator serve acme`` serves the emulator on a port;
- ``pytest --kradle-provider acme`` runs the contract suite and passes;
- the guide's install line (``pip install --find-links WHEELS -e '.[test]'`` in
  the plugin's folder) works in a copy of the plugin outside this repository;
- ``KRADLE_UPDATE_GOLDENS=1`` run from a copy of the plugin's source tree writes
  the goldens into that tree (its ``[tool.kradle-providers] goldens`` folder),
  never into site-packages.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import venv
from importlib import metadata
from pathlib import Path

import httpx
import pytest

SECRET = "acme-wheel-test-secret"
BODY = b'{"event":"ticket.created","ticket":{"id":1,"number":1,"project":"WID","title":"x"}}'


def source_of(distribution: str) -> Path:
    """Where an editable distribution of this workspace was installed from."""
    direct = json.loads(metadata.distribution(distribution).read_text("direct_url.json") or "{}")
    url = str(direct.get("url", ""))
    if not url.startswith("file://"):
        pytest.fail(f"{distribution} is not installed from a source tree (direct_url: {url!r})")
    return Path(url.removeprefix("file://"))


def run(*cmd: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{cmd} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The core, the contract suite and the Acme plugin, built as wheels."""
    out = tmp_path_factory.mktemp("wheels")
    sources = [source_of(d) for d in ("kradle-providers", "kradle-contract-tests")]
    sources.append(source_of("kradle-provider-acme"))
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", out, *sources,
        cwd=out)  # fmt: skip
    assert len(list(out.glob("*.whl"))) == 3, list(out.iterdir())
    return out


def new_venv(root: Path) -> Path:
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    return env_dir / "bin"


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory, wheels: Path) -> Path:
    """A new venv with the three wheels (and their dependencies) installed."""
    root = tmp_path_factory.mktemp("wheel-install")
    bin_dir = new_venv(root)
    found = sorted(wheels.glob("*.whl"))
    core = next(w for w in found if w.name.startswith("kradle_providers-"))
    others = [w for w in found if w != core]
    run(bin_dir / "python", "-m", "pip", "install", "--quiet", f"{core}[server]", *others,
        cwd=root)  # fmt: skip
    return bin_dir


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "KRADLE_"))}
    env["SECRET_VAR"] = SECRET
    return env


def test_webhook_verify_uses_the_plugins_own_scheme(fresh: Path, tmp_path: Path) -> None:
    import hashlib
    import hmac
    import time

    stamp = str(int(time.time()))
    mac = hmac.new(SECRET.encode(), f"{stamp}:".encode() + BODY, hashlib.sha256).hexdigest()
    headers = {"X-Acme-Timestamp": stamp, "X-Acme-Signature": f"v1={mac}",
               "X-Acme-Event": "ticket.created"}  # fmt: skip
    (tmp_path / "headers.json").write_text(json.dumps(headers))
    (tmp_path / "body.json").write_bytes(BODY)
    args = ["--provider", "acme", "--secret-env", "SECRET_VAR", "--headers", "headers.json"]
    out = run(fresh / "kradle-providers", "webhook", "verify", *args, "--body", "body.json",
              cwd=tmp_path, env=clean_env())  # fmt: skip
    assert out.startswith("verified: provider=acme event=ticket.created")
    (tmp_path / "tampered.json").write_bytes(BODY.replace(b'"x"', b'"y"'))
    done = subprocess.run(
        [fresh / "kradle-providers", "webhook", "verify", *args, "--body", "tampered.json"],
        cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1 and "X-Acme-Signature does not match" in done.stdout
    assert SECRET not in done.stdout + done.stderr


def test_emulator_serve_acme(fresh: Path, tmp_path: Path) -> None:
    cmd = [fresh / "kradle-providers", "emulator", "serve", "acme", "--seed", "demo",
           "--token", "t0ken-acme"]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Serving acme emulator at "), line
        base = line.split(" at ", 1)[1].strip()
        response = httpx.get(
            f"{base}/api/v1/projects/WID/tickets",
            headers={"Authorization": "Bearer t0ken-acme"},
            timeout=10,
        )
        assert response.status_code == 200
        assert [t["title"] for t in response.json()][:1] == ["Widgets wobble"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)


def test_contract_suite_passes_for_the_installed_wheel(fresh: Path, tmp_path: Path) -> None:
    out = run(fresh / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider",
              "--kradle-provider", "acme", cwd=tmp_path, env=clean_env())  # fmt: skip
    assert " passed" in out and "failed" not in out


def test_updated_goldens_go_to_the_source_tree_not_site_packages(
    fresh: Path, tmp_path: Path
) -> None:
    tree = tmp_path / "acme-tracker"
    shutil.copytree(source_of("kradle-provider-acme"), tree, ignore=shutil.ignore_patterns(
        "*.egg-info", "__pycache__", "goldens"))  # fmt: skip
    site = Path(run(fresh / "python", "-c", "import kradle_provider_acme as m; print(m.__file__)",
                    cwd=tmp_path, env=clean_env()).strip()).parent  # fmt: skip
    assert "site-packages" in site.parts
    before = sorted(p.stat().st_mtime_ns for p in (site / "fixtures/goldens").rglob("*.json"))
    env = clean_env() | {"KRADLE_UPDATE_GOLDENS": "1"}
    run(fresh / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--kradle-provider",
        "acme", "-k", "fixtures", cwd=tree / "tests", env=env)  # fmt: skip
    written = sorted((tree / "src/kradle_provider_acme/fixtures/goldens").rglob("*.golden.json"))
    assert {p.parent.name for p in written} == {"ticket.created", "ticket.updated",
                                                "comment.created", "ping"}  # fmt: skip
    after = sorted(p.stat().st_mtime_ns for p in (site / "fixtures/goldens").rglob("*.json"))
    assert after == before


def test_the_guides_install_line_works_outside_the_repository(wheels: Path, tmp_path: Path) -> None:
    guide = (source_of("kradle-providers") / "docs/plugin-authors.md").read_text()
    assert ".venv/bin/pip install --find-links /path/to/wheels -e '.[test]'" in guide
    tree = tmp_path / "my-plugin"
    shutil.copytree(source_of("kradle-provider-acme"), tree, ignore=shutil.ignore_patterns(
        "*.egg-info", "__pycache__"))  # fmt: skip
    bin_dir = new_venv(tmp_path)
    run(bin_dir / "pip", "install", "--quiet", "--find-links", wheels, "-e", ".[test]",
        cwd=tree, env=clean_env())  # fmt: skip
    out = run(bin_dir / "pytest", "-q", "-p", "no:cacheprovider", "--kradle-provider", "acme",
              cwd=tree, env=clean_env())  # fmt: skip
    assert " passed" in out and "failed" not in out
