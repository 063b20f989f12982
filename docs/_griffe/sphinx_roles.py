"""Griffe extension: Sphinx cross-reference roles in docstrings become links, or fail the build.

The docstrings use Sphinx roles (``:class:`HttpClient```, ``:meth:`~a.b.C.run```,
``:mod:`.phases```). mkdocstrings would print them verbatim, so this extension resolves
each target the way Sphinx would (the docstring's scope, then a unique name anywhere in
the package) and rewrites it as an optional autorefs link: a link where the target is
rendered on some page, code otherwise. A target that names nothing in the package is
stale: it is logged as a warning, which ``mkdocs build --strict`` turns into a failure.
Targets outside the package (``hmac.compare_digest``) and members a class inherits from
outside it (pydantic's ``model_validate``) are shown as code.
"""

from __future__ import annotations

import html
import importlib
import re
from collections.abc import Iterator
from functools import partial
from typing import Any

import griffe

ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj):`(?P<short>~?)"
    r"(?:(?P<title>[^`<]+?)\s*<(?P<explicit>[^`>]+)>|(?P<target>[^`<]+))`"
)

LITERAL_BLOCK = re.compile(r"::\n[ \t]*\n")


class SphinxRoles(griffe.Extension):
    """Rewrites Sphinx roles in every docstring of the loaded package (see the module doc)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        self.package = pkg
        self.by_name: dict[str, set[str]] = {}
        objects = list(self._objects(pkg))
        for obj in objects:
            self.by_name.setdefault(obj.name, set()).add(obj.path)
        for obj in objects:
            if obj.docstring is not None:
                text = ROLE.sub(partial(self._link, obj), obj.docstring.value)
                # reST's "text::" before a literal block; Markdown sees the indented code block.
                obj.docstring.value = LITERAL_BLOCK.sub(":\n\n", text)

    def _objects(self, obj: griffe.Object) -> Iterator[griffe.Object]:
        yield obj
        for member in obj.members.values():
            if not member.is_alias:
                yield from self._objects(member)  # type: ignore[arg-type]

    def _link(self, obj: griffe.Object, match: re.Match[str]) -> str:
        target = (match["explicit"] or match["target"]).strip()
        title = match["title"] or (target.rsplit(".", 1)[-1] if match["short"] else target)
        code = f"<code>{html.escape(title.strip())}</code>"
        path = self._resolve(obj, target)
        if path is None:
            return code  # outside the package, or inherited from outside it
        if not path:
            griffe.logger.warning(
                f"{obj.relative_filepath}:{obj.lineno or 1}: {obj.path}: {match[0]} names "
                f"nothing in {self.package.name}; fix the reference or drop the role"
            )
            return code
        return f'<autoref identifier="{path}" optional>{code}</autoref>'

    def _resolve(self, obj: griffe.Object, target: str) -> str | None:
        """The target's canonical path; None when it is outside the package; "" when stale."""
        if target.startswith("."):
            module = obj.module
            base = module.path if module.is_init_module else module.parent.path  # type: ignore[union-attr]
            target = base + target
        first, _, rest = target.partition(".")
        candidates = [target]
        suffix = "." + rest if rest else ""
        try:
            candidates.append(obj.resolve(first) + suffix)
        except griffe.NameResolutionError:
            # Not in scope (a name the module does not import): a unique name in the package.
            same_name = self.by_name.get(first, set())
            if len(same_name) == 1:
                candidates.append(next(iter(same_name)) + suffix)
        for candidate in candidates:
            found = self._lookup(candidate)
            if found is not None:
                return found
        inside = [c for c in candidates if c.split(".", 1)[0] == self.package.name]
        if not inside:
            return None
        return None if any(self._inherits_from_outside(c) for c in inside) else ""

    def _lookup(self, path: str) -> str | None:
        try:
            found = self.package.modules_collection[path]
            return str(found.final_target.path if found.is_alias else found.path)
        except (KeyError, griffe.AliasResolutionError, griffe.CyclicAliasError):
            return None

    def _inherits_from_outside(self, path: str) -> bool:
        """True when the path names a member its class inherits from outside the package.

        Asked of the imported class: the package is installed where the site is built.
        """
        owner, _, member = path.rpartition(".")
        if not self._has_outside_ancestor(owner):
            return False
        module = self.package.modules_collection[owner].module.path
        try:
            found: Any = importlib.import_module(module)
            for part in owner[len(module) + 1 :].split("."):
                found = getattr(found, part)
        except (ImportError, AttributeError):
            return False
        return hasattr(found, member)

    def _has_outside_ancestor(self, class_path: str) -> bool:
        try:
            cls = self.package.modules_collection[class_path]
        except KeyError:
            return False
        if not cls.is_class:
            return False
        for base in cls.bases:
            name = base.canonical_path if isinstance(base, griffe.Expr) else str(base)
            base_path = self._lookup(name)
            if base_path is None or self._has_outside_ancestor(base_path):
                return True
        return False
