"""Agreements as data: schedules, staging, quotas, amendments — and what they mean year by year.

Public API::

    from tradepact.agreements import load_agreement, builtin_agreements, rate, rates, changes, text_as_of
    ag = load_agreement("korus")            # built-in name, or a path to a YAML file
    rate(ag, importer="KOR", exporter="USA", hs="020130", year=2018)   # -> RateResult (rate 0.2133)
    rates(ag, frame)                        # frame: importer, exporter, hs, year -> + rate, base_rate, ...
    changes(ag)                             # what each amendment changed
    text_as_of(ag, date(2019, 1, 1))        # the schedule as it stood that day

Rates are ad valorem fractions; years are calendar years; dates are ``datetime.date``.
"""
from tradepact.agreements.io import (
    agreement_from_dict,
    builtin_agreements,
    dump_yaml,
    load_agreement,
    read_schedule_csv,
    read_yaml,
)
from tradepact.agreements.amendments import Text, text_as_of
from tradepact.agreements.query import QuotaInfo, RateResult, changes, quotas, rate, rate_changes, rates, schedule
from tradepact.agreements.schema import Agreement, Amendment, Measure, ScheduleLine
from tradepact.agreements.staging import describe as describe_category

__all__ = [
    "Agreement", "Amendment", "Measure", "ScheduleLine", "RateResult", "QuotaInfo",
    "load_agreement", "builtin_agreements", "agreement_from_dict", "read_yaml", "read_schedule_csv", "dump_yaml",
    "rate", "rates", "rate_changes", "schedule", "quotas", "changes", "describe_category", "Text", "text_as_of",
]
