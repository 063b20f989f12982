#!/usr/bin/env python3
"""Set up and run everything from a fresh machine that has only python3.

    python3 dev.py demo    # the main job: the end-to-end demo
    python3 dev.py test    # every check: ruff, mypy --strict, schemas, the docs site, all tests

Both create ./.venv on first use and install every distribution of the
workspace into it (core, contract tests, plugins, examples) with the dev
tools; later runs reinstall only when a pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".kradle-install-stamp"


def distributions() -> list[Path]:
    """Core first, then contract tests, plugins and examples (each has a pyproject.toml)."""
    found = [ROOT]
    for pattern in ("contract_tests", "plugins/*", "examples/*"):
        found += sorted(p for p in ROOT.glob(pattern) if (p / "pyproject.toml").is_file())
    return found


def run(*cmd: str | Path, check: bool = True, env: dict[str, str] | None = None) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    code = subprocess.call([str(c) for c in cmd], cwd=ROOT, env=env)  # noqa: S603
    if check and code != 0:
        sys.exit(code)
    return code


def ensure_env() -> None:
    if not PY.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    dists = distributions()
    digest = hashlib.sha256()
    for dist in dists:
        digest.update(str(dist.relative_to(ROOT)).encode())
        digest.update((dist / "pyproject.toml").read_bytes())
    stamp = digest.hexdigest()
    if STAMP.exists() and STAMP.read_text() == stamp:
        return
    args: list[str | Path] = [PY, "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[dev]"]
    for dist in dists[1:]:
        # A distribution's own test-only dependencies live in its `test` extra.
        has_test_extra = "\ntest = [" in (dist / "pyproject.toml").read_text()
        args += ["-e", f"{dist}[test]" if has_test_extra else str(dist)]
    run(*args)
    STAMP.write_text(stamp)


def test() -> int:
    ensure_env()
    env = dict(os.environ)
    env.setdefault("HYPOTHESIS_PROFILE", "ci" if env.get("CI") else "dev")
    # The vendors' own payloads and API descriptions, an extra conformance layer, when the
    # checkout has them beside it.
    shared = ROOT.parent / "shared"
    for name, folder in (
        ("KRADLE_UPSTREAM_FIXTURES", shared / "fixtures" / "upstream"),
        ("KRADLE_VENDOR_SPECS", shared / "specs"),
    ):
        if folder.is_dir():
            env.setdefault(name, str(folder))
    run(BIN / "ruff", "check", ".")
    run(BIN / "ruff", "format", "--check", ".")
    # Checked by package name: every distribution's src/ is on mypy_path (pyproject).
    packages = sorted(
        pkg.name
        for src in [ROOT / "src", *ROOT.glob("*/src"), *ROOT.glob("*/*/src")]
        for pkg in src.glob("*/__init__.py")
        for pkg in [pkg.parent]
    )
    typed = [arg for name in packages for arg in ("-p", name)]
    run(BIN / "mypy", "--strict", *typed)
    # The documentation site (mkdocs.yml): a broken link or a stale API reference fails here.
    with tempfile.TemporaryDirectory() as site:
        docs_env = {**env, "NO_MKDOCS_2_WARNING": "1"}  # Material's banner is not a finding
        run(BIN / "mkdocs", "build", "--strict", "--quiet", "--site-dir", site, env=docs_env)
    failed = 0
    # Core and plugin tests in one run; then the contract suite once per provider.
    failed |= run(PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", check=False, env=env)
    # With --kradle-provider and no paths, pytest collects only the generated contract suite.
    contract = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--kradle-provider"]
    failed |= run(*contract, "all", check=False, env=env)
    # Harnesses default to one flavour (Jira: Cloud); the other flavour gets its own run.
    failed |= run(*contract, "jira", "--kradle-option", "flavor=datacenter", check=False, env=env)
    return failed


def demo() -> int:
    ensure_env()
    return run(PY, "-m", "kradle_sync_demo", *sys.argv[2:], check=False)


def main() -> int:
    commands = {"test": test, "demo": demo, "setup": lambda: (ensure_env(), 0)[1]}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]]()


if __name__ == "__main__":
    sys.exit(main())
