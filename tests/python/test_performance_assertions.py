"""The original API's performance assertions: classes, default messages, groups, fail-fast, and
missing metrics read as 0 (its own test suite is the contract; these are ours)."""
import pytest

from loadspiker.performance_assertions import (
    AverageResponseTimeAssertion, CustomPerformanceAssertion, ErrorRateAssertion,
    MaxResponseTimeAssertion, PerformanceAssertion, PerformanceAssertionGroup,
    SuccessRateAssertion, ThroughputAssertion, TotalRequestsAssertion, as_thresholds,
    custom_performance_assertion, error_rate_below, p95_response_time_under,
    run_performance_assertions, throughput_at_least)

GOOD = {"requests_per_second": 50.0, "avg_response_time_ms": 120.0,
        "max_response_time_us": 800_000, "total_requests": 1000, "successful_requests": 990,
        "failed_requests": 10, "p95_us": 300_000}


def test_each_class_checks_its_metric_inclusively_and_explains_itself():
    cases = [
        (ThroughputAssertion(50.0), ThroughputAssertion(60.0),
         "Throughput 50.00 RPS is below minimum 60.0 RPS"),
        (AverageResponseTimeAssertion(120.0), AverageResponseTimeAssertion(100.0),
         "Average response time 120.00ms exceeds limit 100.0ms"),
        (ErrorRateAssertion(1.0), ErrorRateAssertion(0.5), "Error rate 1.00% exceeds limit 0.5%"),
        (SuccessRateAssertion(99.0), SuccessRateAssertion(99.5),
         "Success rate 99.00% is below minimum 99.5%"),
        (MaxResponseTimeAssertion(800.0), MaxResponseTimeAssertion(500.0),
         "Maximum response time 800.00ms exceeds limit 500.0ms"),
        (TotalRequestsAssertion(1000), TotalRequestsAssertion(1001),
         "Total requests 1000 is below minimum 1001"),
    ]
    for passing, failing, message in cases:
        assert passing.check_metrics(GOOD) is True, passing
        assert failing.check_metrics(GOOD) is False, failing
        assert failing.get_metrics_error_message(GOOD) == message
        failing.message = "mine"
        assert failing.get_metrics_error_message(GOOD) == "mine"


def test_missing_metrics_count_as_zero():
    assert ThroughputAssertion(1.0).check_metrics({}) is False
    assert TotalRequestsAssertion(1).check_metrics({}) is False
    assert AverageResponseTimeAssertion(1.0).check_metrics({}) is True
    assert ErrorRateAssertion(1.0).check_metrics({"total_requests": None}) is True
    assert SuccessRateAssertion(99.0).check_metrics({"total_requests": 0}) is True
    assert SuccessRateAssertion(99.0).get_metrics_error_message({}) == \
        "Success rate 100.00% is below minimum 99.0%"


def test_base_and_custom():
    with pytest.raises(NotImplementedError):
        PerformanceAssertion().check_metrics({})
    assert PerformanceAssertion().get_metrics_error_message({}) == "Performance assertion failed"

    def broken(m):
        raise ValueError("no")
    assert CustomPerformanceAssertion(broken).check_metrics({}) is False
    c = custom_performance_assertion(lambda m: m["x"] > 1, "x too small")
    assert c.check_metrics({"x": 2}) and not c.check_metrics({"x": 0})
    assert CustomPerformanceAssertion(lambda m: False).get_metrics_error_message({}) == \
        "Custom performance assertion failed"


def test_groups_and_run_with_fail_fast():
    g = PerformanceAssertionGroup("or").add(ThroughputAssertion(100.0, "slow"))
    g.add(ErrorRateAssertion(5.0))
    assert g.logic == "OR" and g.check_all_metrics(GOOD) is True
    assert [m for _, m in g.failed_assertions] == ["slow"]
    g.logic = "AND"
    assert g.check_all_metrics(GOOD) is False
    assert g.get_failure_report() == "Performance assertion group (AND) failed:\n  1. slow"
    g.logic = "XOR"
    with pytest.raises(ValueError, match="Unknown logic operator: XOR"):
        g.check_all_metrics(GOOD)
    bad = [throughput_at_least(100, "first"), error_rate_below(0.1, "second")]
    assert run_performance_assertions(GOOD, bad) == (False, ["first", "second"])
    assert run_performance_assertions(GOOD, bad, fail_fast=True) == (False, ["first"])
    assert run_performance_assertions(GOOD, []) == (True, [])


def test_engine_thresholds_from_assertions():
    t = as_thresholds([throughput_at_least(10), error_rate_below(1),
                       p95_response_time_under(250)])
    assert t == {"rps": ">= 10", "error_rate": "<= 1%", "p95_latency_ms": "<= 250"}
    with pytest.raises(ValueError, match="Python only"):
        as_thresholds([custom_performance_assertion(lambda m: True)])
