"""report.junit.xml: parsed with junitparser, one suite per host and the status mapping."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest
from ansible_collections.rampart.hardening.plugins.module_utils.report import junit
from ansible_collections.rampart.hardening.plugins.module_utils.report.model import Report
from ansible_collections.rampart.hardening.plugins.module_utils.report.options import Options
from junitparser import Error, Failure, JUnitXml, Skipped, TestCase, TestSuite


@pytest.fixture(scope="module")
def xml(fleet: Report) -> JUnitXml:
    return JUnitXml.fromstring(junit.render(fleet))


def suite(xml: JUnitXml, host: str) -> TestSuite:
    return next(s for s in xml if s.name == host)


def case(xml: JUnitXml, host: str, control: str) -> TestCase:
    return next(c for c in suite(xml, host) if c.name.split()[0] == control)


def kind(c: TestCase) -> str:
    results = list(c.result)
    return {Failure: "failure", Error: "error", Skipped: "skipped"}[type(results[0])] if results else "passed"


def test_one_suite_per_host_one_case_per_control(xml: JUnitXml, fleet: Report) -> None:
    assert [s.name for s in xml] == [h.name for h in fleet.hosts]
    for s in xml:
        assert s.tests == len(fleet.catalogue.controls) == len(list(s))
        assert s.hostname == s.name
        assert {c.classname for c in s} == {s.name}
    assert case(xml, "web-01", "RAC-01").name == "RAC-01 Hardened SSH only"


def test_counts_add_up(xml: JUnitXml) -> None:
    for s in xml:
        kinds = [kind(c) for c in s]
        assert (s.failures, s.errors, s.skipped) == (
            kinds.count("failure"),
            kinds.count("error"),
            kinds.count("skipped"),
        )
    assert xml.tests == sum(s.tests for s in xml) == 6 * 38
    assert xml.failures == sum(s.failures for s in xml)
    assert xml.errors == sum(s.errors for s in xml)
    assert xml.skipped == sum(s.skipped for s in xml)


def test_web_01_counts(xml: JUnitXml) -> None:
    web = suite(xml, "web-01")
    # failures: RAC-01 drift, RAC-04 fail; skipped: 2 n/a, 5 not assessed (PAT-*, STO-02), 14 not implemented
    assert (web.tests, web.failures, web.errors, web.skipped) == (38, 2, 0, 21)
    assert web.timestamp == "2026-12-03T09:30:10"  # its newest record


@pytest.mark.parametrize(
    ("host", "control", "expected"),
    [
        ("web-01", "RAC-02", "passed"),  # pass
        ("web-01", "RAC-04", "failure"),  # fail
        ("web-01", "RAC-01", "failure"),  # drift
        ("db-01", "STO-02", "error"),  # error
        ("down-01", "RAC-01", "error"),  # unreachable
        ("web-01", "RAC-03", "skipped"),  # not applicable
        ("web-01", "HRD-01", "skipped"),  # not implemented
        ("web-01", "PAT-01", "skipped"),  # not assessed
        ("new-01", "RAC-01", "skipped"),  # never assessed
        ("web-01", "AUD-06", "passed"),  # stale pass
        ("broken-01", "RAC-01", "error"),  # unreadable file
        ("web-01", "MON-02", "passed"),  # shown by the report
    ],
)
def test_mapping(xml: JUnitXml, host: str, control: str, expected: str) -> None:
    assert kind(case(xml, host, control)) == expected


def test_a_failure_carries_the_summary_and_the_evidence(xml: JUnitXml) -> None:
    (failure,) = case(xml, "web-01", "RAC-04").result
    assert failure.message == "failed: a warning banner is shown"
    assert failure.type == "fail"
    assert '[FAIL] a warning banner is shown: banner: <script>alert("pwned")</script> & more' in failure.text
    assert "[ok] admins are named accounts: alice, bob" in failure.text


def test_drift_shows_both_records(xml: JUnitXml) -> None:
    (failure,) = case(xml, "web-01", "RAC-01").result
    assert failure.message == "would change: RAC-01 | Write sshd_config"
    assert "verified in check mode at 2026-12-03 09:30 UTC: drift (playbook site.yml" in failure.text
    assert "enforced at 2026-12-03 09:00 UTC: pass" in failure.text


def test_a_pass_has_its_evidence_in_system_out(xml: JUnitXml) -> None:
    out = case(xml, "web-01", "AUD-07").system_out
    assert out is not None and "[ok] marker found at the collector: rampart-marker-7f3a found" in out


def test_skipped_says_why(xml: JUnitXml) -> None:
    (skipped,) = case(xml, "web-01", "RAC-03").result
    assert skipped.message == "not applicable: host is not in production (ssh_access_production is false)"
    (skipped,) = case(xml, "web-01", "HRD-01").result
    assert skipped.message == "not implemented: no role or playbook of rampart records it yet"
    (skipped,) = case(xml, "new-01", "RAC-01").result
    assert skipped.message.startswith("never assessed: no record file")


def test_an_error_says_where_the_run_failed(xml: JUnitXml) -> None:
    (error,) = case(xml, "db-01", "STO-02").result
    assert (
        error.message == "not assessed: failed at 'STO-02 | Read replication state': psql: connection refused"
    )


def test_a_stale_cell_says_its_age(xml: JUnitXml) -> None:
    out = case(xml, "web-01", "NET-04").system_out
    assert out is not None and "stale: pass, 13 days old" in out


def test_statuses_in_fail_on_become_failures(fleet: Report) -> None:
    from dataclasses import replace

    strict = replace(
        fleet, options=Options.parse(fail_on=["fail", "stale", "not_assessed", "never_assessed"])
    )
    xml = JUnitXml.fromstring(junit.render(strict))
    assert kind(case(xml, "web-01", "AUD-06")) == "failure"
    (failure,) = case(xml, "web-01", "AUD-06").result
    assert failure.message.startswith("stale: pass, 2 days old: ")
    assert kind(case(xml, "web-01", "PAT-01")) == "failure"
    assert kind(case(xml, "new-01", "RAC-01")) == "failure"
    assert kind(case(xml, "web-01", "RAC-03")) == "skipped"  # not applicable stays skipped
    assert kind(case(xml, "down-01", "RAC-01")) == "error"  # unreachable stays an error


def test_the_written_file_parses(written: Mapping[str, Path]) -> None:
    xml = JUnitXml.fromfile(str(written["junit"]))
    assert xml.tests == 6 * 38
    assert written["junit"].read_text().startswith('<?xml version="1.0" encoding="UTF-8"?>')
