"""Credential forms: what a binding's ``auth:`` block may say, and how it becomes a credential.

A binding gives each provider instance one form, ``auth: {<key>: <value>}``.
Core ships three generic forms (:data:`TOKEN`, :data:`BEARER`, :data:`BASIC`);
a provider plugin lists the forms its provider accepts in
``ProviderPlugin.auth_forms``, each tied to the manifest auth modes it serves
(``TOKEN.for_modes("personal-access-token")``), and may add its own (an app
installation, a signed JWT). A binding naming a form the provider does not
accept is refused with the allowed forms listed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, TypeAdapter
from pydantic.alias_generators import to_camel

from kradle_providers.auth.refs import SecretRef, SecretResolver
from kradle_providers.auth.schemes import BasicAuth, BearerAuth

if TYPE_CHECKING:
    import httpx

__all__ = [
    "BASIC",
    "BEARER",
    "CORE_FORMS",
    "TOKEN",
    "AuthContext",
    "AuthForm",
    "BasicCredentials",
    "FormModel",
]


class FormModel(BaseModel):
    """Base of a form's value model: camelCase keys in documents, unknown keys refused."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


@dataclass(frozen=True)
class AuthContext:
    """What building a credential may need besides the form's value."""

    resolver: SecretResolver
    api_base_url: str | None = None
    transport: httpx.AsyncBaseTransport | None = None


@dataclass(frozen=True)
class AuthForm:
    """One credential form.

    - ``key``: the key in the binding's ``auth:`` block (``token``, ``githubApp``);
    - ``value_type``: what the value must be (a pydantic model or a type such as
      :class:`SecretRef`), validated when the binding is checked;
    - ``build``: ``await build(value, context)`` returns what the adapter gets
      as ``ProviderConfig.auth`` (a :class:`~kradle_providers.auth.Secret` or an
      :class:`~kradle_providers.auth.AuthScheme`);
    - ``modes``: the manifest ``authModes`` this form serves (empty: any).
    """

    key: str
    value_type: Any
    build: Callable[[Any, AuthContext], Awaitable[Any]]
    modes: tuple[str, ...] = ()
    description: str = ""

    def for_modes(self, *modes: str) -> AuthForm:
        """This form, serving the provider's manifest auth ``modes``."""
        return dataclasses.replace(self, modes=modes)

    def parse(self, value: Any) -> Any:
        """``value`` validated as this form's value (a pydantic ``ValidationError`` if not)."""
        return TypeAdapter(self.value_type).validate_python(value)


class BasicCredentials(FormModel):
    """Username (a reference or a plain, non-secret string) and password reference."""

    username: SecretRef | str
    password: SecretRef


async def _token(ref: SecretRef, ctx: AuthContext) -> Any:
    # A bare Secret: the adapter puts it in its provider's token header.
    return await ctx.resolver.resolve(ref)


async def _bearer(ref: SecretRef, ctx: AuthContext) -> Any:
    return BearerAuth(await ctx.resolver.resolve(ref))


async def _basic(creds: BasicCredentials, ctx: AuthContext) -> Any:
    user = creds.username
    username = (await ctx.resolver.resolve(user)).reveal() if isinstance(user, SecretRef) else user
    return BasicAuth(username, await ctx.resolver.resolve(creds.password))


TOKEN = AuthForm(
    "token", SecretRef, _token, description="a token sent in the provider's own token header"
)
"""``{token: REF}``: the adapter receives the token as a Secret and picks its header."""

BEARER = AuthForm("bearer", SecretRef, _bearer, description="Authorization: Bearer <token> (OAuth)")
"""``{bearer: REF}``: ``Authorization: Bearer <token>``."""

BASIC = AuthForm("basic", BasicCredentials, _basic, description="HTTP Basic: {username, password}")
"""``{basic: {username, password}}``: HTTP Basic."""

CORE_FORMS: tuple[AuthForm, ...] = (TOKEN, BEARER, BASIC)
"""The forms of a provider whose plugin lists none."""
