"""Core names no provider: no vendor in its code (docstrings and comments may give examples).

A provider is a plugin; anything core does for one vendor would be out of reach
of the next (a third party's included). This reads every module of the core
package and looks for vendor names in identifiers, imports and string literals
other than docstrings.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import kradle_providers

VENDORS = re.compile(r"github|gitlab|jira|atlassian|buildkite|bitbucket|gitea", re.IGNORECASE)
CORE = Path(kradle_providers.__file__).parent


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        # Module/class/function docstrings and attribute docstrings are all bare strings.
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            found.add(id(node.value))
    return found


def vendor_mentions(source: str) -> list[tuple[int, str]]:
    tree = ast.parse(source)
    docs = _docstrings(tree)
    hits: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        text: str | None = None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = None if id(node) in docs else node.value
        elif isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.alias):
            text = node.name
        elif isinstance(node, ast.ImportFrom):
            text = node.module
        if text and VENDORS.search(text):
            hits.append((getattr(node, "lineno", 0), text))
    return hits


def test_scanner_sees_code_but_not_docstrings() -> None:
    source = '"""Works with GitHub."""\nHEADER = "x-github-event"\ndef f():\n    """Jira."""\n'
    assert vendor_mentions(source) == [(2, "x-github-event")]


def test_no_vendor_name_in_core_code() -> None:
    modules = sorted(CORE.rglob("*.py"))
    assert len(modules) > 50
    found = [
        f"{path.relative_to(CORE)}:{line}: {text[:80]!r}"
        for path in modules
        for line, text in vendor_mentions(path.read_text(encoding="utf-8"))
    ]
    assert found == [], "vendor names in core code:\n" + "\n".join(found)
