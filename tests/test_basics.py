"""Package-level basics: errors carry their location, country and HS validation."""
import pandas as pd
import pytest

from tradepact import countries, products
from tradepact.errors import DataFormatError, TradepactError


def test_data_format_error_names_file_row_field():
    err = DataFormatError("baci.csv", 12, "v", "a non-negative number", "-3")
    assert isinstance(err, TradepactError)
    msg = str(err)
    assert "baci.csv" in msg and "row 12" in msg and "'v'" in msg and "non-negative" in msg and "-3" in msg


def test_country_codes():
    assert countries.is_valid("KOR") and countries.is_valid("EU") and countries.is_valid("ROW")
    assert not countries.is_valid("XYZ")
    assert countries.normalize("ROM") == "ROU"
    assert countries.normalize("Korea, Republic of") == "KOR"
    assert countries.normalize("kor") == "KOR"
    assert countries.normalize("Atlantis") is None
    assert countries.numeric_to_iso3()[410] == "KOR"
    mask = countries.invalid_codes(pd.Series(["USA", "XXX", "KOR"]))
    assert mask.tolist() == [False, True, False]


def test_hs_codes():
    assert products.is_valid("0201") and products.is_valid("870323") and products.is_valid("87032310")
    assert not products.is_valid("201") and not products.is_valid("87a3")
    assert products.clean("0201.10") == "020110"
    assert products.invalid_codes(pd.Series(["01", "123", "870323"])).tolist() == [False, True, False]
    assert products.sectors(pd.Series(["0201", "8703", "27"])).tolist() == [
        "Agriculture & food", "Vehicles & transport", "Minerals & fuels"]
    with pytest.raises(ValueError):
        products.level("02", 4)
