"""Secret references and the resolvers that turn them into secrets.

Configuration never holds a credential: it holds a :class:`SecretRef` naming a
secret *store* (``name``) and an entry in it (``key``). A host turns the
reference into a :class:`~kradle_providers.auth.secret.Secret` at the last
moment through a :class:`SecretResolver`. Environment, file and in-memory
resolvers ship; a host plugs in its own (Vault, Kubernetes, a database) by
implementing the one-method protocol, and :class:`ChainResolver` combines them.

A binding may spell a reference in any of these forms::

    {env: GH_TOKEN}                     # SecretRef(name="env", key="GH_TOKEN")
    {file: /run/secrets/gh.pem}         # SecretRef(name="file", key="/run/secrets/gh.pem")
    {secret: {name: vault, key: gh}}    # SecretRef(name="vault", key="gh")
    {name: vault, key: gh}              # the canonical form
    "env:GH_TOKEN"                      # the compact string form
"""

from __future__ import annotations

import asyncio
import logging
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kradle_providers.auth.secret import Secret
from kradle_providers.errors import KradleError

__all__ = [
    "ChainResolver",
    "EnvironmentResolver",
    "FileResolver",
    "InsecureSecretFile",
    "MappingResolver",
    "SecretNotFound",
    "SecretRef",
    "SecretResolver",
    "default_resolver",
]

logger = logging.getLogger(__name__)

# Single-key shorthands whose key is the store name itself.
_SHORTHAND_STORES = ("env", "file")


class SecretRef(BaseModel):
    """Where a secret lives: a store ``name`` and the ``key`` of an entry in it.

    The reference is not secret (it is safe to log, dump and show in errors);
    the value it points to is, and only a resolver ever sees it.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(
        min_length=1,
        description="secret store: 'env', 'file', or a store the host registers",
    )
    key: str = Field(min_length=1, description="entry in the store (variable, path, key)")

    @model_validator(mode="before")
    @classmethod
    def _accept_binding_forms(cls, data: Any) -> Any:
        """Accept the shorthand forms a binding's YAML may use."""
        if isinstance(data, str):
            store, sep, key = data.partition(":")
            if not sep or not store or not key:
                raise ValueError(
                    f"secret reference {data!r} must look like 'STORE:KEY' "
                    "(e.g. 'env:GH_TOKEN'), or be a mapping {name: STORE, key: KEY}"
                )
            return {"name": store, "key": key}
        if isinstance(data, Mapping) and len(data) == 1:
            ((store, inner),) = data.items()
            if store in _SHORTHAND_STORES:
                return {"name": store, "key": inner}
            if store == "secret":
                return inner
        return data

    @classmethod
    def env(cls, variable: str) -> SecretRef:
        """A reference to the environment variable ``variable``."""
        return cls(name="env", key=variable)

    @classmethod
    def file(cls, path: str | os.PathLike[str]) -> SecretRef:
        """A reference to the file at ``path``."""
        return cls(name="file", key=os.fspath(path))

    def __str__(self) -> str:
        return f"{self.name}:{self.key}"


class SecretNotFound(KradleError):
    """A secret reference could not be resolved.

    The message names the reference (never a value), why it failed and how to
    fix it. ``ref`` is the reference; ``reasons`` lists every resolver's answer
    when several were tried.
    """

    def __init__(
        self,
        ref: SecretRef,
        reason: str,
        *,
        fix: str | None = None,
        misses: list[SecretNotFound] | None = None,
    ) -> None:
        self.ref = ref
        self.reason = reason
        self.fix = fix
        self.misses = misses or []
        text = f"secret {ref} could not be resolved: {reason}"
        if fix:
            text += f". Fix: {fix}"
        super().__init__(text)


class InsecureSecretFile(KradleError):
    """A secret file is readable by every user and the resolver refuses it."""

    def __init__(self, ref: SecretRef, path: Path) -> None:
        self.ref = ref
        self.path = path
        super().__init__(
            f"secret {ref}: {path} is readable by every user on this machine. "
            f"Fix: `chmod o-rwx {path}` (or 0600), or let the resolver accept it "
            "with FileResolver(refuse_world_readable=False)"
        )


@runtime_checkable
class SecretResolver(Protocol):
    """Turns a :class:`SecretRef` into a :class:`Secret`.

    Raise :class:`SecretNotFound` when the reference is unknown (including a
    store this resolver does not serve), so a :class:`ChainResolver` can ask
    the next one.
    """

    async def resolve(self, ref: SecretRef) -> Secret:
        """Return the secret ``ref`` points to, or raise :class:`SecretNotFound`."""
        ...


def _not_served(ref: SecretRef, resolver: str, stores: tuple[str, ...]) -> SecretNotFound:
    return SecretNotFound(
        ref,
        f"{resolver} serves store(s) {', '.join(repr(s) for s in stores)}, not {ref.name!r}",
        fix=f"register a resolver for store {ref.name!r} with the host",
    )


class EnvironmentResolver:
    """Resolves references to environment variables (store ``env``).

    ``environ`` defaults to :data:`os.environ`, read at resolution time so a
    variable set after start-up is seen.
    """

    def __init__(
        self, environ: Mapping[str, str] | None = None, *, stores: tuple[str, ...] = ("env",)
    ) -> None:
        self._environ = environ
        self._stores = stores

    async def resolve(self, ref: SecretRef) -> Secret:
        """Return the value of the variable ``ref.key``."""
        if ref.name not in self._stores:
            raise _not_served(ref, "EnvironmentResolver", self._stores)
        environ = os.environ if self._environ is None else self._environ
        value = environ.get(ref.key)
        if value is None:
            raise SecretNotFound(
                ref,
                f"environment variable {ref.key} is not set",
                fix=f"export {ref.key} in the process environment",
            )
        if not value:
            raise SecretNotFound(
                ref,
                f"environment variable {ref.key} is set but empty",
                fix=f"give {ref.key} the credential's value",
            )
        return Secret(value)

    def __repr__(self) -> str:
        source = "os.environ" if self._environ is None else "mapping"
        return f"EnvironmentResolver({source}, stores={self._stores!r})"


class FileResolver:
    """Resolves references to files (store ``file``): Kubernetes or Docker secrets.

    The file's content, minus trailing line breaks, is the secret. A relative
    key is read under ``root`` (default: the working directory); when ``root``
    is given, a key that escapes it (``../``, a symlink out) is refused. A file
    readable by every user is logged as a warning, or refused when
    ``refuse_world_readable`` is true.
    """

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        *,
        refuse_world_readable: bool = False,
        stores: tuple[str, ...] = ("file",),
    ) -> None:
        self._root = Path(root).resolve() if root is not None else None
        self._refuse_world_readable = refuse_world_readable
        self._stores = stores

    async def resolve(self, ref: SecretRef) -> Secret:
        """Read the file ``ref.key`` and return its content."""
        if ref.name not in self._stores:
            raise _not_served(ref, "FileResolver", self._stores)
        # File reads block; keep the event loop free.
        value = await asyncio.to_thread(self._read, ref)
        return Secret(value)

    def _path(self, ref: SecretRef) -> Path:
        raw = Path(ref.key).expanduser()
        if self._root is None:
            return raw
        path = (self._root / raw).resolve()
        if not path.is_relative_to(self._root):
            raise SecretNotFound(
                ref,
                f"{ref.key} is outside the secrets directory {self._root}",
                fix=f"reference a file under {self._root}",
            )
        return path

    def _read(self, ref: SecretRef) -> str:
        path = self._path(ref)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise SecretNotFound(
                ref, f"file {path} does not exist", fix="mount or create the secret file"
            ) from None
        except OSError as exc:
            raise SecretNotFound(
                ref,
                f"file {path} cannot be read ({exc.strerror or type(exc).__name__})",
                fix="check the path and the process's permissions",
            ) from None
        if not stat.S_ISREG(info.st_mode):
            raise SecretNotFound(
                ref, f"{path} is not a regular file", fix="point the reference at a file"
            )
        if os.name == "posix" and info.st_mode & stat.S_IROTH:
            if self._refuse_world_readable:
                raise InsecureSecretFile(ref, path)
            logger.warning(
                "secret %s: %s is readable by every user; restrict it with `chmod o-rwx`",
                ref,
                path,
            )
        try:
            content = path.read_bytes().decode("utf-8")  # no newline translation
        except (OSError, UnicodeDecodeError) as exc:
            raise SecretNotFound(
                ref,
                f"file {path} cannot be read as UTF-8 text ({type(exc).__name__})",
                fix="check the file's permissions and encoding",
            ) from None
        value = content.rstrip("\r\n")
        if not value:
            raise SecretNotFound(
                ref, f"file {path} is empty", fix="write the credential into the file"
            )
        return value

    def __repr__(self) -> str:
        return f"FileResolver(root={self._root!s}, stores={self._stores!r})"


class MappingResolver:
    """Resolves references from an in-memory mapping ``{store: {key: value}}``.

    For hosts that already hold their secrets, and for tests. Values may be
    plain strings or :class:`Secret`; both come back as a :class:`Secret`.
    """

    def __init__(self, values: Mapping[str, Mapping[str, str | Secret]] | None = None) -> None:
        self._values: dict[str, dict[str, Secret]] = {}
        for store, entries in (values or {}).items():
            for key, value in entries.items():
                self.put(SecretRef(name=store, key=key), value)

    def put(self, ref: SecretRef, value: str | Secret) -> None:
        """Store (or replace) the secret for ``ref``."""
        self._values.setdefault(ref.name, {})[ref.key] = (
            value if isinstance(value, Secret) else Secret(value)
        )

    def remove(self, ref: SecretRef) -> None:
        """Forget the secret for ``ref`` (no error when absent)."""
        self._values.get(ref.name, {}).pop(ref.key, None)

    async def resolve(self, ref: SecretRef) -> Secret:
        """Return the stored secret for ``ref``."""
        entries = self._values.get(ref.name)
        if entries is None:
            raise SecretNotFound(
                ref,
                f"the in-memory resolver holds no store {ref.name!r}",
                fix="put the secret into the MappingResolver, or use the right store name",
            )
        secret = entries.get(ref.key)
        if secret is None:
            raise SecretNotFound(
                ref,
                f"store {ref.name!r} holds no key {ref.key!r}",
                fix="put the secret into the MappingResolver under that key",
            )
        return secret

    def __repr__(self) -> str:
        counts = {store: len(entries) for store, entries in self._values.items()}
        return f"MappingResolver(entries={counts!r})"


class ChainResolver:
    """Asks each resolver in turn; the first that answers wins.

    When none does, :class:`SecretNotFound` lists every resolver's reason. Any
    other error (an insecure file, a host store that is down) stops the chain:
    it is a problem to fix, not a miss.
    """

    def __init__(self, *resolvers: SecretResolver) -> None:
        if not resolvers:
            raise ValueError("ChainResolver needs at least one resolver")
        self._resolvers = resolvers

    async def resolve(self, ref: SecretRef) -> Secret:
        """Return the first resolver's answer for ``ref``."""
        misses: list[SecretNotFound] = []
        for resolver in self._resolvers:
            try:
                return await resolver.resolve(ref)
            except SecretNotFound as miss:
                misses.append(miss)
        if len(misses) == 1:
            raise misses[0]
        reasons = "; ".join(f"({i}) {m.reason}" for i, m in enumerate(misses, 1))
        fixes = [m.fix for m in misses if m.fix]
        raise SecretNotFound(
            ref,
            f"no resolver has it: {reasons}",
            fix=" or ".join(dict.fromkeys(fixes)) if fixes else None,
            misses=misses,
        )

    def __repr__(self) -> str:
        return f"ChainResolver({', '.join(repr(r) for r in self._resolvers)})"


def default_resolver(
    environ: Mapping[str, str] | None = None,
    secrets_dir: str | os.PathLike[str] | None = None,
) -> ChainResolver:
    """The resolver a host gets without configuring one: environment, then files.

    ``secrets_dir`` confines file references to one directory (recommended).
    """
    return ChainResolver(EnvironmentResolver(environ), FileResolver(secrets_dir))
