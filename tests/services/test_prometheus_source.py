"""The rollout guard's Prometheus source against a real Prometheus scraping a real metrics endpoint: the
counts of each side, the rendering and escaping of variation values, and every way an answer can fail to be
a count."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from app.services.guards import PrometheusQueries, Sample
from app.services.prometheus_source import GuardSourceError, label_text, read_prometheus
from tests.prometheus_server import MetricsApp, PrometheusServer
from tests.streaming.processes import free_port, wait_until

QUOTED = 'a "quoted" \\ value'
FAILURES = 'sum(checkout_errors_total{variation="{variation}"})'
TOTAL = 'sum(checkout_requests_total{variation="{variation}"})'
# (requests, errors) served with each variation, as the label text the application writes.
SERVED = {"true": (1000, 37), "false": (5000, 50), "blue": (300, 9), "2.5": (80, 4), QUOTED: (70, 7)}


@pytest.fixture(scope="module")
def metrics_app() -> Iterator[MetricsApp]:
    app = MetricsApp().start()
    try:
        yield app
    finally:
        app.stop()


@pytest.fixture(scope="module")
def prometheus(metrics_app: MetricsApp) -> Iterator[PrometheusServer]:
    for variation, (requests, errors) in SERVED.items():
        metrics_app.record(variation, requests, errors)
    server = PrometheusServer([metrics_app.target]).start()
    try:
        server.wait_for("sum(checkout_requests_total)", sum(requests for requests, _ in SERVED.values()))
        yield server
    finally:
        server.stop()


def queries(server: PrometheusServer, failures: str = FAILURES, total: str = TOTAL) -> PrometheusQueries:
    return PrometheusQueries(url=server.url, failures=failures, total=total)


def sample(variation: str) -> Sample:
    requests, errors = SERVED[variation]
    return Sample(failures=errors, total=requests)


def test_each_side_gets_the_counts_of_its_own_variation(prometheus: PrometheusServer) -> None:
    assert read_prometheus(queries(prometheus), True, False, 2.0) == (sample("true"), sample("false"))
    assert read_prometheus(queries(prometheus), False, True, 2.0) == (sample("false"), sample("true"))


def test_strings_and_numbers_are_rendered_as_label_text(prometheus: PrometheusServer) -> None:
    assert read_prometheus(queries(prometheus), "blue", 2.5, 2.0) == (sample("blue"), sample("2.5"))


def test_a_value_with_quotes_and_backslashes_matches_its_own_series(prometheus: PrometheusServer) -> None:
    assert read_prometheus(queries(prometheus), QUOTED, "blue", 2.0) == (sample(QUOTED), sample("blue"))


def test_a_value_cannot_break_out_of_its_label_matcher(prometheus: PrometheusServer) -> None:
    attack = 'true"} or vector(1000000) or nothing{a="'
    # Substituted as it is, the value would end the string and add a million to the count:
    assert prometheus.value(FAILURES.replace("{variation}", attack)) == 1000000 + SERVED["true"][1]
    # Escaped, it is one label value that no series has.
    assert read_prometheus(queries(prometheus), attack, True, 2.0) == (Sample(0, 0), sample("true"))


def test_a_variation_nobody_was_served_counts_zero(prometheus: PrometheusServer) -> None:
    assert read_prometheus(queries(prometheus), "purple", True, 2.0) == (Sample(0, 0), sample("true"))


def test_a_scalar_answer_is_a_count(prometheus: PrometheusServer) -> None:
    scalar = 'scalar(sum(checkout_errors_total{variation="{variation}"}))'
    assert read_prometheus(queries(prometheus, scalar, "4000"), True, False, 2.0) == (
        Sample(37, 4000),
        Sample(50, 4000),
    )


def test_a_fractional_answer_is_rounded_to_a_whole_count(prometheus: PrometheusServer) -> None:
    tenth = 'sum(checkout_errors_total{variation="{variation}"}) * 0.1'
    treatment, control = read_prometheus(queries(prometheus, tenth), True, False, 2.0)
    assert (treatment.failures, control.failures) == (4, 5)  # 3.7 and 5.0


def test_the_documented_increase_query_counts_what_was_served_in_the_window(
    prometheus: PrometheusServer, metrics_app: MetricsApp
) -> None:
    metrics_app.record("green", 0, 0)
    # Some history at zero first, so that `increase` sees the counter start and extrapolates little.
    history = 'count_over_time(checkout_requests_total{variation="green"}[1h])'
    wait_until(lambda: (prometheus.value(history) or 0) >= 5, 60, "five scrapes of the green series")
    metrics_app.record("green", 200, 20)
    prometheus.wait_for('sum(checkout_requests_total{variation="green"})', 200)
    documented = queries(
        prometheus,
        'sum(increase(checkout_errors_total{variation="{variation}"}[1h]))',
        'sum(increase(checkout_requests_total{variation="{variation}"}[1h]))',
    )
    treatment, control = read_prometheus(documented, "green", "purple", 2.0)
    # `increase` extrapolates from the last scrape to the query time: at most a fifth more after 5 scrapes.
    assert 200 <= treatment.total <= 250 and 20 <= treatment.failures <= 25
    assert control == Sample(0, 0)


def test_several_series_are_an_error_naming_the_query(prometheus: PrometheusServer) -> None:
    unsummed = 'checkout_errors_total{variation=~"true|{variation}"}'
    with pytest.raises(GuardSourceError) as error:
        read_prometheus(queries(prometheus, failures=unsummed), "blue", False, 2.0)
    message = str(error.value)
    assert "treatment failures query" in message and "checkout_errors_total" in message
    assert "2 series" in message and "sum(" in message


def test_a_query_prometheus_refuses_is_an_error_with_its_reason(prometheus: PrometheusServer) -> None:
    with pytest.raises(GuardSourceError, match=r"refused the treatment total query .*bad_data"):
        read_prometheus(queries(prometheus, total="sum(checkout_requests_total{variation="), True, False, 2.0)


@pytest.mark.parametrize(
    ("failures", "reason"),
    [
        ("0 / 0", "NaN, not a count"),
        ("1 / 0", r"\+Inf, not a count"),
        ("-5", "a negative count"),
        ('checkout_errors_total{variation="{variation}"}[1m]', "returned a matrix"),
        ('"five"', "returned a string"),
    ],
)
def test_an_answer_that_is_not_a_count_is_an_error(
    prometheus: PrometheusServer, failures: str, reason: str
) -> None:
    with pytest.raises(GuardSourceError, match=reason):
        read_prometheus(queries(prometheus, failures=failures), True, False, 2.0)


def test_an_unreachable_server_is_an_error() -> None:
    unreachable = PrometheusQueries(url=f"http://127.0.0.1:{free_port()}", failures=FAILURES, total=TOTAL)
    with pytest.raises(GuardSourceError, match="cannot reach Prometheus"):
        read_prometheus(unreachable, True, False, 2.0)


def test_a_server_that_is_not_prometheus_is_an_error(metrics_app: MetricsApp) -> None:
    not_prometheus = PrometheusQueries(url=metrics_app.url, failures=FAILURES, total=TOTAL)
    with pytest.raises(GuardSourceError, match=r"not a Prometheus API answer \(HTTP 501\)"):
        read_prometheus(not_prometheus, True, False, 2.0)


def test_a_server_that_never_answers_is_given_up_within_the_timeout() -> None:
    with socket.socket() as silent:
        # Listening without ever accepting: the kernel completes the connection, nothing ever answers.
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        with pytest.raises(GuardSourceError, match=r"did not answer the treatment failures query .* in time"):
            read_prometheus(PrometheusQueries(url, FAILURES, TOTAL), True, False, 0.5)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        ("blue", "blue"),
        (3, "3"),
        (2.5, "2.5"),
        ({"plan": "gold", "seats": [1, 2]}, '{\\"plan\\":\\"gold\\",\\"seats\\":[1,2]}'),
        (None, "null"),
        ('say "hi"\\\n', 'say \\"hi\\"\\\\\\n'),
        ("grün ☃", "grün ☃"),
    ],
)
def test_variation_values_as_label_text(value: object, text: str) -> None:
    assert label_text(value) == text
