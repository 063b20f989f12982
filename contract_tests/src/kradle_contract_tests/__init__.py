"""kradle-contract-tests: one pytest plugin that tests any provider on exactly what its
manifest declares.

Run it with ``pytest --kradle-provider NAME`` (repeatable, ``all`` for every
installed provider), or subclass :class:`IssueTrackingContract` (and friends)
in your own tests with one ``harness`` fixture.
"""

from kradle_contract_tests.classes import (
    CiCdContract,
    ContractSuite,
    GitForgeContract,
    IssueTrackingContract,
    ManifestContract,
)
from kradle_contract_tests.context import ContractViolation, Ctx, violation
from kradle_contract_tests.generate import Check, checks_for
from kradle_contract_tests.goldens import GOLDENS_DIR_ENV, UPDATE_GOLDENS_ENV, declared_goldens_dir
from kradle_contract_tests.runner import run_check

__all__ = [
    "GOLDENS_DIR_ENV",
    "UPDATE_GOLDENS_ENV",
    "Check",
    "CiCdContract",
    "ContractSuite",
    "ContractViolation",
    "Ctx",
    "GitForgeContract",
    "IssueTrackingContract",
    "ManifestContract",
    "checks_for",
    "declared_goldens_dir",
    "run_check",
    "violation",
]
