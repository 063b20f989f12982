"""Properties of wiki markup <-> Markdown on the supported subset."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from kradle_provider_jira.adf import adf_to_markdown
from kradle_provider_jira.richtext import body_from_wiki, wiki_from_markdown
from richtext_strategies import documents


@given(documents(ordered_starts=False, titles=False))
def test_markdown_to_wiki_to_markdown_is_stable(doc: dict[str, Any]) -> None:
    md, _ = adf_to_markdown(doc)
    wiki, warnings1 = wiki_from_markdown(md)
    body1 = body_from_wiki(wiki)
    wiki2, warnings2 = wiki_from_markdown(body1.markdown)
    body2 = body_from_wiki(wiki2)
    assert body2.markdown == body1.markdown
    assert wiki2 == wiki
    assert warnings1 == body1.warnings == warnings2 == body2.warnings == []
    assert body1.markdown == md
