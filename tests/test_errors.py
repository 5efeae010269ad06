"""The error family: engines name their parameters, the command line names its flags, near
misses get a suggestion, and user-facing errors are all TradepactErrors."""
from __future__ import annotations

import numpy as np
import pytest

from tradepact.errors import (
    AgreementError,
    ConfigError,
    ParameterError,
    TradepactError,
    check_choice,
    did_you_mean,
)


def test_engine_errors_name_parameters_not_flags():
    from tradepact.simulate.ge import Baseline, solve

    base = Baseline.from_matrix(np.array([[50.0, 5], [4, 40]]), ["AAA", "BBB"], theta=4)
    with pytest.raises(ParameterError) as ei:
        solve(base, closure="ful")
    assert ei.value.parameter == "closure" and str(ei.value).startswith("closure: ")
    assert "did you mean 'full'?" in str(ei.value) and "--" not in str(ei.value)
    assert isinstance(ei.value, ConfigError) and isinstance(ei.value, ValueError)


def test_cli_words_parameters_as_flags():
    from tradepact.cli.options import error_text, flag_for

    assert flag_for("theta") == "--theta" and flag_for("set_values") == "--set" and flag_for("rate_unit") == "--rate-unit"
    assert error_text(ParameterError("set_values", "names FOO")) == "--set: names FOO"
    assert error_text(ConfigError("plain")) == "plain"


def test_did_you_mean():
    assert did_you_mean("hetro", ["iid", "hetero", "cluster"]) == " (did you mean 'hetero'?)"
    assert did_you_mean("zzz", ["iid", "hetero"]) == ""
    assert check_choice("level", "hs2", ("hs2", "total")) == "hs2"
    with pytest.raises(ParameterError, match=r"level: expected one of 'hs2', 'total', got 'hs3' \(did you mean 'hs2'\?\)"):
        check_choice("level", "hs3", ("hs2", "total"))


def test_user_facing_errors_are_in_the_family():
    from tradepact.web.safety import InputError

    assert issubclass(AgreementError, ConfigError) and issubclass(AgreementError, ValueError)
    assert issubclass(InputError, TradepactError)
