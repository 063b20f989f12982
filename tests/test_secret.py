"""Secret values never show themselves."""

from __future__ import annotations

import logging
import pickle

import pytest
from pydantic import BaseModel

from kradle_providers.auth.secret import Secret, forgetting_new_secret_values, redact

CANARY = "kradle-canary-7f3a9c"


class Holder(BaseModel):
    token: Secret


def test_repr_str_format_and_dumps_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret(CANARY)
    holder = Holder(token=secret)
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").debug("token=%s holder=%r %s", secret, holder, f"{secret}")
    outputs = [
        repr(secret),
        str(secret),
        f"{secret:>20}",
        repr(holder),
        str(holder),
        holder.model_dump_json(),
        str(holder.model_dump()),
        caplog.text,
    ]
    for text in outputs:
        assert CANARY not in text
    assert secret.reveal() == CANARY
    assert Holder.model_json_schema()["properties"]["token"]["writeOnly"] is True


def test_redact_scrubs_every_known_secret_from_free_text() -> None:
    Secret(CANARY)
    text = f"provider said: bad credentials {CANARY} (header Authorization: token {CANARY})"
    assert CANARY not in redact(text)
    assert redact("nothing to hide") == "nothing to hide"


def test_secrets_compare_in_constant_time_and_refuse_pickling() -> None:
    assert Secret(CANARY) == Secret(CANARY)
    assert Secret(CANARY) != Secret(CANARY + "x")
    with pytest.raises(TypeError):
        pickle.dumps(Secret(CANARY))
    with pytest.raises(TypeError):
        Secret(123)  # type: ignore[arg-type]


def test_secrets_registered_inside_the_block_are_forgotten_on_exit() -> None:
    kept = Secret("kept-secret-value-0001")
    with forgetting_new_secret_values():
        Secret("reopenIssue")  # a code constant, as property tests draw them
        assert redact("reopenIssue kept-secret-value-0001") == "*** ***"
    assert redact("reopenIssue kept-secret-value-0001") == "reopenIssue ***"
    assert kept.reveal() == "kept-secret-value-0001"
