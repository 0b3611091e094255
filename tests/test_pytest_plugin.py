"""The pytest fixtures a host app gets through the ``pytest11`` entry point.

Each test writes a host app's test file and runs pytest on it in a fresh process, so the
fixtures are found through the installed entry point exactly as in another project, with no
conftest and no ``-p`` option.
"""
from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from influx_connector.sandbox import pytest_plugin

HOST_APP_TESTS = '''
import pytest
import requests


def test_write_and_read_back(influx_connection, influx_sandbox):
    influx_connection.run("write_data", {"data": "cpu,host=a load=0.5 1", "precision": "s"})
    query = 'from(bucket: "sandbox-bucket") |> range(start: 0)'
    rows = influx_connection.run("query_data", {"query": query}).data
    assert [(r["host"], r["_value"]) for r in rows] == [("a", 0.5)]
    assert [p.value for p in influx_sandbox.bucket.points()] == [0.5]
    assert [r.path for r in influx_sandbox.requests] == ["/api/v2/write", "/api/v2/query"]


def test_each_test_starts_empty(influx_sandbox):
    assert influx_sandbox.bucket.points() == []
    assert influx_sandbox.requests == []


def test_settings_fill_a_connection_form(influx_settings):
    assert set(influx_settings) == {"protocol", "host", "port", "token", "org", "bucket"}
    url = f"{influx_settings['protocol']}://{influx_settings['host']}:{influx_settings['port']}"
    resp = requests.get(url + "/api/v2/buckets", headers={"Authorization": "Token " + influx_settings["token"]})
    assert "sandbox-bucket" in {b["name"] for b in resp.json()["buckets"]}


@pytest.mark.influx_sandbox(org="acme", bucket="metrics", token="host-app-token", extra_orgs=["other"])
def test_marker_configures_the_sandbox(influx_connection, influx_settings):
    assert (influx_settings["org"], influx_settings["bucket"], influx_settings["token"]) == (
        "acme", "metrics", "host-app-token")
    report = influx_connection.test()
    assert report.ok, report.to_dict()
    orgs = {o["name"] for o in influx_connection.get_json("/api/v2/orgs")["orgs"]}
    assert orgs == {"acme", "other"}


@pytest.mark.influx_sandbox(bucket=None)
def test_no_default_bucket(influx_settings):
    assert "bucket" not in influx_settings


@pytest.mark.influx_sandbox(max_body_bytes=64)
def test_small_body_limit(influx_connection):
    from influx_connector.errors import APIError

    # Too large as one request: halved until each part fits, and every point lands.
    result = influx_connection.run("write_data", {"data": "".join(f"m v={i} {i}\\n" for i in range(20))})
    assert result.data["points"] == 20 and result.meta["sent"]["splits"] > 0
    with pytest.raises(APIError) as caught:
        influx_connection.run("write_data", {"data": 'm v="' + "x" * 100 + '" 1'})
    assert caught.value.status == 413
'''


def test_the_plugin_is_registered_under_pytest11() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert found.get("influx_connector") == "influx_connector.sandbox.pytest_plugin"


def test_a_host_app_uses_the_fixtures_without_any_setup(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_host_app=HOST_APP_TESTS)
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=6)


def test_a_wrong_marker_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bad="""
import pytest

@pytest.mark.influx_sandbox(colour="blue")
def test_it(influx_sandbox):
    pass

@pytest.mark.influx_sandbox("acme")
def test_positional(influx_sandbox):
    pass
""")
    result = pytester.runpytest_subprocess("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["*influx_sandbox*colour*", "*keyword arguments only*"])


def test_the_fixtures_and_marker_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*influx_sandbox*", "*influx_settings*", "*influx_connection*"])
    markers = pytester.runpytest_subprocess("--markers", "-p", "no:cacheprovider")
    markers.stdout.fnmatch_lines(["*influx_sandbox(**options)*"])


def test_marker_closest_to_the_test_wins(pytester: pytest.Pytester) -> None:
    item = pytester.getitem("""
import pytest

pytestmark = pytest.mark.influx_sandbox(org="module-org", bucket="module-bucket")

@pytest.mark.influx_sandbox(org="test-org")
def test_func():
    pass
""")
    options = pytest_plugin.sandbox_options(item)
    assert options == {"token": "sandbox-token", "org": "test-org", "bucket": "module-bucket"}
