"""The contract suite's own tests: it is inert unless asked, passes the reference
provider, and fails broken variants where it should (each run in a subprocess)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

HERE = Path(__file__).parent
REGISTER = """
import broken_variants
from kradle_providers.plugins.registry import load_registry

load_registry().register_plugin_object(broken_variants, entry_point="broken-variants")
"""


def outcomes(result: pytest.RunResult) -> dict[str, str]:
    """Item name -> PASSED/FAILED/SKIPPED from a `-rA` summary."""
    found: dict[str, str] = {}
    for line in result.outlines:
        match = re.match(r"^(PASSED|FAILED|SKIPPED|ERROR) (?:\[\d+\] )?(\S+)", line)
        if match:
            found[match.group(2)] = match.group(1)
    return found


@pytest.fixture
def broken(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(broken_variants=(HERE / "broken_variants.py").read_text())
    pytester.makeconftest(REGISTER)
    return pytester


def test_inert_without_the_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", "--co")
    assert "test_plain.py::test_one" in result.stdout.str()
    assert "[memory]" not in result.stdout.str()
    assert "1 test collected" in result.stdout.str()


def test_memory_passes_every_generated_check_of_all_three_interfaces(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_plain="def test_not_collected():\n    assert False\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA", "--kradle-provider",
                                           "memory")  # fmt: skip
    seen = outcomes(result)
    assert result.ret == 0, result.stdout.str()[-3000:]
    # memory is in-process: it ships no emulator to serve, and says so (the only skip)
    assert "memory ships no emulator (ProviderPlugin.emulator is None)" in result.stdout.str()
    seen = {name: outcome for name, outcome in seen.items() if outcome != "SKIPPED"}
    result.assert_outcomes(skipped=1, passed=len(seen))
    assert seen and set(seen.values()) == {"PASSED"}
    assert not any("test_not_collected" in name for name in seen)  # only the suite runs
    for prefix in ("manifest::", "webhooks::", "issueTracking::", "cicd::", "gitForge::",
                   "noLeak::"):  # fmt: skip
        assert any(name.startswith(prefix) for name in seen), prefix
    for name in (
        "issueTracking::createIssue::roundtrip[memory]",
        "issueTracking::listIssues::pages[memory]",
        "issueTracking::listIssues::incremental[memory]",
        "issueTracking::syncLabels::dryRun[memory]",
        "cicd::registerRunner::lostResponse[memory]",
        "gitForge::syncBranchProtection::idempotent[memory]",
        "gitForge::getPullRequest::notFound[memory]",
    ):
        assert seen.get(name) == "PASSED", name


def test_broken_variants_fail_exactly_the_expected_checks(broken: pytest.Pytester) -> None:
    selection = (
        "(brokenpages and listLabels) or (brokenidem and createIssue) or "
        "(brokenunimpl and (implemented or listMilestones)) or "
        "(brokenundeclared and listMilestones) or (brokenleak and (noLeak or webhooks)) or "
        "(brokenshape and (suite or listPipelines)) or (brokenemu and emulator) or "
        "(brokenhookleak and noLeak) or (brokenclose and (closeIssue or cancelPipeline)) or "
        "(brokenhidden and listIssues) or (brokennewest and listIssues) or "
        "(brokenwide and listComments) or (brokenurl and getIssue) or "
        "(brokenupdate and updateIssue) or (brokensig and webhooks) or "
        "(brokenreason and closeIssue) or (brokensync and syncLabels)"
    )
    args = ["-p", "no:cacheprovider", "-rA", "-k", selection]
    for name in ("brokenpages", "brokenidem", "brokenunimpl", "brokenundeclared", "brokenleak",
                 "brokenshape", "brokenemu", "brokenhookleak", "brokenclose", "brokenhidden",
                 "brokennewest", "brokenwide", "brokenurl", "brokenupdate",
                 "brokensig", "brokenreason", "brokensync"):  # fmt: skip
        args += ["--kradle-provider", name]
    result = broken.runpytest_subprocess(*args)
    seen = outcomes(result)
    text = result.stdout.str()
    expected = {
        "issueTracking::listLabels::pages[brokenpages]": "FAILED",
        "issueTracking::listLabels::call[brokenpages]": "PASSED",
        "issueTracking::createIssue::lostResponse[brokenidem]": "FAILED",
        "issueTracking::createIssue::roundtrip[brokenidem]": "PASSED",
        "manifest::operations::implemented[brokenunimpl]": "FAILED",
        "issueTracking::listMilestones::call[brokenunimpl]": "FAILED",
        "issueTracking::listMilestones::unsupported[brokenundeclared]": "FAILED",
        "noLeak::credential::canary[brokenleak]": "FAILED",
        "webhooks::issue::fixtures[brokenleak]": "PASSED",
        # cicd is undeclared but the memory adapter implements it: refused by the suite
        "cicd::listPipelines::unsupported[brokenshape]": "FAILED",
        "emulator::serve::starts[brokenemu]": "FAILED",
        "noLeak::credential::canary[brokenhookleak]": "FAILED",
        "issueTracking::closeIssue::readBack[brokenclose]": "FAILED",
        "issueTracking::closeIssue::call[brokenclose]": "PASSED",
        "cicd::cancelPipeline::readBack[brokenclose]": "FAILED",
        "cicd::cancelPipeline::call[brokenclose]": "PASSED",
        # the six defects an outside author's plugin once passed green with
        "issueTracking::listIssues::pages[brokenhidden]": "FAILED",
        "issueTracking::listIssues::call[brokenhidden]": "PASSED",
        "issueTracking::listIssues::insertedWhilePaging[brokennewest]": "FAILED",
        "issueTracking::listIssues::pages[brokennewest]": "PASSED",
        "issueTracking::listComments::pagesRepositoryWide[brokenwide]": "FAILED",
        "issueTracking::listComments::pages[brokenwide]": "PASSED",
        "issueTracking::getIssue::envelope[brokenurl]": "FAILED",
        "issueTracking::getIssue::roundtrip[brokenurl]": "PASSED",
        "issueTracking::updateIssue::roundtrip[brokenupdate]": "FAILED",
        "issueTracking::updateIssue::call[brokenupdate]": "PASSED",
        "webhooks::security::signatures[brokensig]": "FAILED",
        "webhooks::issue::fixtures[brokensig]": "PASSED",
        "issueTracking::closeIssue::readBack[brokenreason]": "FAILED",
        "issueTracking::closeIssue::call[brokenreason]": "PASSED",
        "issueTracking::syncLabels::idempotent[brokensync]": "FAILED",
        "issueTracking::syncLabels::call[brokensync]": "PASSED",
    }
    for name, outcome in expected.items():
        assert seen.get(name) == outcome, f"{name}: {seen.get(name)}\n{text[-4000:]}"
    # Failures explain themselves in terms a plugin author can act on.
    assert re.search(r"listLabels returned \d+ of 7 seeded Labels with page_size=1: missing", text)
    assert "there are 2 Issues titled" in text
    assert "list_milestones() is the protocol's default" in text
    assert "sent 1 request(s) to the backend (GET /listMilestones)" in text
    assert "the credential appeared in: issue normalized event" in text
    assert "FAILED noLeak::credential::canary[brokenhookleak] - the webhook secret" in text
    assert "the webhook secret appeared in: issue normalized event" in text
    assert re.search(r"closeIssue returned success, but Issue '\d+' reads back with "
                     r"state='open' \(expected 'closed'\)", text)  # fmt: skip
    assert re.search(r"cancelPipeline returned success, but Pipeline '\d+' reads back with "
                     r"state='running' \(expected 'cancelled'\)", text)  # fmt: skip
    assert re.search(r"listIssues with page_size=None did not list the seeded Issues \d+ "
                     r"\(state='closed'\): the provider's default filter hid", text)  # fmt: skip
    assert "ask the provider for every object (state=all" in text
    assert re.search(r"listIssues returned Issues \[.*\] more than once with page_size=2 while "
                     r"objects were inserted and deleted between pages", text)  # fmt: skip
    assert "page by a stable, unique order (id) so an item never appears on two pages" in text
    assert re.search(r"listComments returned 1 of 6 seeded Comments with page_size=1 across 3 "
                     r"Issues: missing", text)  # fmt: skip
    assert re.search(r"getIssue returned a Issue whose browser url 'https://api\.memory\.test/"
                     r"\S+' is its api_url", text)  # fmt: skip
    assert "keep the REST address in external.api_url" in text
    assert re.search(r"updateIssue returned success, but Issue '\d+' reads back with "
                     r"body=None \(it set title, body and labels\)", text)  # fmt: skip
    assert "issue.json (issue) without x-memory-signature was accepted" in text
    assert "fail closed: a delivery without the scheme's header must be rejected" in text
    assert "closeIssue(reason='not_planned') reads back with reason 'completed'" in text
    assert "send the close reason to the provider" in text
    assert re.search(r"syncLabels reported success, but listLabels then shows: "
                     r"'contract-\w+-a' is missing", text)  # fmt: skip
    # the undeclared interface is skipped with the manifest's reason
    assert "SKIPPED [1]" in text
    assert "cicd is not supported by brokenshape: no CI here, use Buildkite" in text
    assert "How to fix:" in text
    assert "cannot be called as emulator serve calls it: got an unexpected keyword argument" in text
    assert "point ProviderPlugin.emulator at a function `def create_emulator(*, seed" in text


def test_harness_options_reach_the_factory(broken: pytest.Pytester) -> None:
    base = ["-p", "no:cacheprovider", "-q", "--kradle-provider", "optioned", "-k", "schema"]
    good = broken.runpytest_subprocess(*base, "--kradle-option", "flavor=datacenter")
    assert good.ret == 0, good.stdout.str()[-2000:]
    good.assert_outcomes(passed=1)
    bad = broken.runpytest_subprocess(*base)
    bad.assert_outcomes(failed=1)
    assert "expected flavor=datacenter" in bad.stdout.str()


def test_unknown_provider_is_a_usage_error_listing_the_installed_ones(
    pytester: pytest.Pytester,
) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--kradle-provider", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "nope not installed (installed: " in result.stderr.str()
    assert "memory" in result.stderr.str()


def test_authors_can_subclass_the_suite_with_one_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_mine="""
import pytest
from kradle_contract_tests import IssueTrackingContract
from kradle_providers.testing.memory_harness import create_harness


class TestMemoryIssues(IssueTrackingContract):
    provider = "memory"

    @pytest.fixture
    def harness(self):
        return create_harness()
"""
    )
    run = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-v", "-k", "listIssues")
    text = run.stdout.str()
    assert run.ret == 0, text[-2000:]
    assert "TestMemoryIssues::test_contract[issueTracking::listIssues::pages] PASSED" in text
    assert "cicd::" not in text and "[memory]" not in text


def test_a_supported_interface_without_any_scenario_fails() -> None:
    # The manifest validator already refuses this; the suite must not pass it either.
    from kradle_contract_tests.generate import checks_for

    from kradle_providers.manifest.model import Manifest

    manifest = Manifest.model_validate(
        {
            "apiVersion": "kradle.a5c.ai/v1alpha1",
            "kind": "ExternalProviderCapabilityManifest",
            "metadata": {"name": "empty"},
            "spec": {
                "providerType": "empty",
                "displayName": "Empty",
                "interfaces": {"gitForge": {"supported": True}},
            },
        }
    )
    names = [c.name for c in checks_for(manifest)]
    assert "gitForge::scenarios::present" in names
    assert "gitForge::listRepositories::unsupported" in names  # not declared -> refused
    assert "issueTracking::suite::declared" in names


def test_the_example_plugin_passes_exactly_its_declared_parts(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA", "--kradle-provider",
                                           "acme")  # fmt: skip
    seen = outcomes(result)
    text = result.stdout.str()
    assert result.ret == 0, text[-3000:]
    assert seen["issueTracking::listIssues::pages[acme]"] == "PASSED"
    assert seen["webhooks::ticket.created::fixtures[acme]"] == "PASSED"
    # its one write is checked, a retry after a lost response included (marker idempotency)
    for scenario in ("call", "roundtrip", "richText", "lostResponse"):
        assert seen[f"issueTracking::createComment::{scenario}[acme]"] == "PASSED", scenario
    # other writes are not declared: refused with the manifest's reason, nothing sent
    assert seen["issueTracking::createIssue::unsupported[acme]"] == "PASSED"
    assert not any("createIssue::roundtrip" in name for name in seen)
    assert "cicd is not supported by acme: Acme is a ticket tracker; it has no CI/CD" in text
    assert "gitForge is not supported by acme" in text


def test_ids_are_selectable_as_printed_and_summaries_carry_the_reason(
    broken: pytest.Pytester,
) -> None:
    check = "issueTracking::listLabels::pages[brokenpages]"
    result = broken.runpytest_subprocess("-p", "no:cacheprovider", "-rA", check)
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    # the short summary line gives the reason, not the id a second time
    assert re.search(rf"^FAILED {re.escape(check)} - listLabels returned \d+", text, re.M)
    assert f"Rerun: pytest --kradle-provider brokenpages '{check}'" in text
    typo = check.replace("::pages[", "::pagez[")
    unknown = broken.runpytest_subprocess("-p", "no:cacheprovider", typo)
    assert "--kradle-check: no check named issueTracking::listLabels::pagez[brokenpages]" in (
        unknown.stderr.str()
    )


def test_a_credential_form_whose_credential_shows_its_secret_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # noLeak::authForms builds every declared form from canary secrets; one whose
    # credential object prints the secret is named, with where it appeared.
    from kradle_contract_tests.context import ContractViolation
    from kradle_contract_tests.generate import checks_for
    from kradle_contract_tests.runner import run_check

    from kradle_providers.auth.forms import AuthContext, AuthForm
    from kradle_providers.auth.refs import SecretRef
    from kradle_providers.auth.secret import Secret
    from kradle_providers.plugins.registry import Registry, load_registry

    class Shows:
        def __init__(self, secret: Secret) -> None:
            self.secret = secret

        def __repr__(self) -> str:
            return f"Shows({self.secret.reveal()})"

    async def build(ref: SecretRef, ctx: AuthContext) -> Shows:
        return Shows(await ctx.resolver.resolve(ref))

    leaky = AuthForm("token", SecretRef, build)
    registry = load_registry()
    check = next(c for c in checks_for(registry.manifest("github"))
                 if c.name == "noLeak::authForms::canary")  # fmt: skip
    factory = registry.harness_factory("github")
    assert factory is not None
    run_check(check, provider="github", harness=factory)  # the real forms do not leak
    monkeypatch.setattr(Registry, "auth_forms", lambda self, name: (leaky,))
    with pytest.raises(ContractViolation, match="the token form's token appeared in: "
                       "credential repr") as failure:  # fmt: skip
        run_check(check, provider="github", harness=factory)
    assert "reveal it only into the request that needs it" in str(failure.value)


@pytest.mark.parametrize(
    "check",
    [
        "webhooks::ticket.created::fixtures[acme]",  # a dotted event name
        "issueTracking::createComment::lostResponse[acme]",
        "webhooks::Issue Hook::normalizer[gitlab]",  # an event name with a space
    ],
)
def test_every_printed_id_selects_its_check(pytester: pytest.Pytester, check: str) -> None:
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA", check)
    result.assert_outcomes(passed=1)
    assert f"PASSED {check}" in result.outlines, result.stdout.str()[-2000:]
