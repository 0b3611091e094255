"""The reference host's page in a real browser: Debian's headless chromium, driven by selenium,
against the service (waitress) and the sandbox, end to end. Waits are on what the page draws,
never on the clock. Screenshots of the main screens go to tests/artifacts/host/."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from influx_connector.host import build_app, start
from influx_connector.host.app import App
from influx_connector.sandbox import Sandbox

from .conftest import BUCKET
from .helpers import TOKEN
from .test_extension import PING as PING_OPERATION

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).parent / "artifacts" / "host"
WRONG = "wrong-token-0000"

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the test extra")
if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):  # .ci/run installs both
    pytest.fail(f"chromium and chromedriver are needed ({CHROMIUM}, {DRIVER}): "
                "apt-get install chromium chromium-driver", pytrace=False)

from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

pytestmark = pytest.mark.slow


class Recording:
    """The service's app, with every answer's bytes kept (to show the token is in none)."""

    def __init__(self, app: App):
        self.app = app
        self.guard = app.guard
        self.catalog = app.catalog
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        for chunk in self.app(environ, start_response):
            self.bodies.append(chunk)
            yield chunk


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1100",
                "--disable-gpu", "--no-first-run", "--disable-extensions", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-default-apps"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    from selenium.webdriver.chrome.service import Service

    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture
def sandbox_with_bucket() -> Iterator[Sandbox]:
    with Sandbox(token=TOKEN, org="acme", bucket=BUCKET) as sb:
        yield sb


def wait(driver: Any, condition: Callable[[Any], Any], timeout: float = 30) -> Any:
    return WebDriverWait(driver, timeout).until(condition)


def shown(driver: Any, css: str, timeout: float = 30) -> Any:
    return wait(driver, ec.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout)


def type_into(driver: Any, element_id: str, text: str) -> None:
    field = shown(driver, f"#{element_id}")
    field.clear()
    field.send_keys(text)


def paste_into(driver: Any, element_id: str, text: str) -> None:
    """Put a long text in a field at once, as pasting does (typing it key by key takes minutes)."""
    field = shown(driver, f"#{element_id}")
    driver.execute_script(
        "const [el, text] = arguments; const proto = Object.getPrototypeOf(el);"
        "Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, text);"
        "el.dispatchEvent(new Event('input', {bubbles: true}));", field, text)


def open_advanced(driver: Any) -> None:
    """Open the form's Advanced section (a click on its summary, when it is closed)."""
    section = shown(driver, "details.advanced")
    if section.get_attribute("open") is None:
        section.find_element(By.CSS_SELECTOR, "summary").click()


def open_page(driver: Any, running: Any) -> None:
    driver.get(f"{running.url}/?key={running.key}")
    shown(driver, "#add-source")


def snap(driver: Any, name: str, at: str | None = None) -> Path:
    if at is not None:
        driver.execute_script("arguments[0].scrollIntoView()", driver.find_element(By.CSS_SELECTOR, at))
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def add_influx_source(driver: Any, sandbox: Sandbox, name: str, token: str) -> None:
    shown(driver, "#add-source").click()
    Select(shown(driver, "#source-type")).select_by_value("influxdb")
    type_into(driver, "source-name", name)
    type_into(driver, "root_token", token)
    type_into(driver, "root_host", "127.0.0.1")
    type_into(driver, "root_port", str(sandbox.connection_settings["port"]))
    open_advanced(driver)
    type_into(driver, "root_org", "acme")
    type_into(driver, "root_bucket", BUCKET)
    shown(driver, "#save-source").click()
    shown(driver, f'[data-source="{name}"]')


def connection_test(driver: Any, name: str) -> dict[str, str]:
    card = shown(driver, f'[data-source="{name}"]')
    card.find_element(By.CSS_SELECTOR, "button.test").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-source="{name}"] .verdict'))
    return {li.get_attribute("data-step"): li.get_attribute("data-status")
            for li in card.find_elements(By.CSS_SELECTOR, "li.step")}


def choose_operation(driver: Any, op_id: str) -> None:
    Select(shown(driver, "#query-operation")).select_by_value(op_id)
    shown(driver, "#operation-form")


def option_values(driver: Any) -> list[str]:
    """The operations listed, read at once (the list is drawn again as the service answers)."""
    return driver.execute_script(
        "return [...document.querySelectorAll('#query-operation option')].map((o) => o.value)")


def assert_chart_drawn(driver: Any, labels: list[str]) -> None:
    """The chart has one line per label (its legend names each, after the time) and pixels drawn."""
    chart = shown(driver, ".chart[data-lines]")
    assert chart.get_attribute("data-lines") == str(len(labels))
    legend = [e.text for e in chart.find_elements(By.CSS_SELECTOR, ".u-legend .u-series")]
    assert len(legend) == len(labels) + 1 and all(any(label in t for t in legend) for label in labels), legend
    drawn = driver.execute_script(
        "const c = document.querySelector('.chart canvas'); const x = c.getContext('2d');"
        "const d = x.getImageData(0, 0, c.width, c.height).data; let n = 0;"
        "for (let i = 0; i < d.length; i += 4) { if (d[i + 3] > 0) n++; } return n;")
    assert drawn > 500, "the chart canvas has nothing drawn on it"


def run_and_wait(driver: Any) -> None:
    """Run the form and wait until the page has drawn this run's outcome."""
    ended = driver.execute_script("const r = document.querySelector('.results'); return r ? r.dataset.runs : '0'")
    shown(driver, "#run").click()
    wait(driver, lambda d: d.execute_script(
        "const r = document.querySelector('.results'); return r && r.dataset.runs !== arguments[0]", ended))


def test_a_person_configures_writes_queries_and_charts_through_the_page(browser, sandbox_with_bucket, tmp_path) -> None:
    sandbox = sandbox_with_bucket
    ext = tmp_path / "ext"
    ext.mkdir()
    recording = Recording(build_app(tmp_path / "host.sqlite3", operation_dirs=[ext]))
    with start(recording) as running:  # type: ignore[arg-type]
        open_page(browser, running)
        # 1. A wrong token fails at the token step; replaced, the test passes.
        add_influx_source(browser, sandbox, "local", WRONG)
        steps = connection_test(browser, "local")
        assert steps["reachable"] == "passed" and steps["token"] == "failed"
        assert "401" in shown(browser, '[data-step="token"] .message').text
        snap(browser, "1-test-failed")
        shown(browser, '[data-source="local"] button.edit').click()
        token_field = shown(browser, "#root_token")
        assert token_field.get_attribute("value") == "" and "configured" in token_field.get_attribute("placeholder")
        token_field.send_keys(TOKEN)
        shown(browser, "#save-source").click()
        assert set(connection_test(browser, "local").values()) == {"passed"}
        assert "token: configured" in shown(browser, '[data-source="local"] .values').text
        snap(browser, "2-data-sources")

        # 2. Write records from the form, one line per series member.
        shown(browser, "#nav-queries").click()
        choose_operation(browser, "write_data")
        lines = [f"air,room={room} temp={20 + i + (0.5 if room == 'b' else 0)} {1700000000 + 60 * i}"
                 for room in ("a", "b") for i in range(5)]
        Select(shown(browser, "#root_precision")).select_by_visible_text("Seconds")
        type_into(browser, "root_data", "\n".join(lines))
        run_and_wait(browser)
        assert "HTTP 204" in shown(browser, ".results .summary").text
        assert sandbox.store is not None

        # 3. Query them: the table shows the rows, the chart one line per series.
        choose_operation(browser, "query_data")
        type_into(browser, "root_query", f'from(bucket: "{BUCKET}") |> range(start: 0)')
        run_and_wait(browser)
        assert shown(browser, ".results .count").text == "10 rows"
        assert_chart_drawn(browser, ["room=a", "room=b"])
        snap(browser, "3-chart", ".results")
        shown(browser, ".tabs button:nth-child(1)").click()  # the table
        rows = browser.find_elements(By.CSS_SELECTOR, "table.rows tbody tr")
        assert len(rows) == 10
        header = browser.find_element(By.XPATH, "//table[@class='rows']//th[starts-with(., '_value')]")
        header.click()
        header = browser.find_element(By.XPATH, "//table[@class='rows']//th[starts-with(., '_value')]")
        header.click()  # descending
        column = [th.text.split()[0] for th in browser.find_elements(By.CSS_SELECTOR, "table.rows th")].index("_value")
        first = browser.find_element(By.CSS_SELECTOR, f"table.rows tbody tr:first-child td:nth-child({column + 1})")
        assert first.text == "24.5"
        snap(browser, "4-table", ".results")
        browser.find_element(By.XPATH, "//div[@class='tabs']/button[.='Request']").click()
        curl = shown(browser, "pre.curl").text
        assert curl.startswith("curl ") and "Token ****" in curl

        # A row limit that cuts the answer says so.
        open_advanced(browser)
        type_into(browser, "root_limit", "3")
        run_and_wait(browser)
        assert shown(browser, ".results .count").text == "3 rows"
        assert "truncated" in shown(browser, ".results .truncated").text

        # 4. A bad value: its message under the field, nothing sent.
        sent = len(sandbox.requests)
        choose_operation(browser, "list_buckets")
        type_into(browser, "root_limit", "500")
        shown(browser, "#run").click()
        message = shown(browser, "#root_limit ~ .error-detail, .field-error, #operation-form .error-detail")
        assert "must be at most 100" in message.text
        assert len(sandbox.requests) == sent, "a refused value must send nothing"
        snap(browser, "5-field-error")

        # 5. Save a query.
        type_into(browser, "root_limit", "5")
        type_into(browser, "query-name", "my buckets")
        shown(browser, "#save-query").click()
        shown(browser, '[data-query="my buckets"]')

        # 6. An extension operation appears without a restart.
        (ext / "ping_server.yaml").write_text(PING_OPERATION)
        shown(browser, "#nav-sources").click()
        shown(browser, "#nav-queries").click()
        wait(browser, lambda d: "ping_server" in option_values(d))
        choose_operation(browser, "ping_server")
        run_and_wait(browser)
        assert "HTTP 204" in shown(browser, ".results .summary").text

        # 7. The token is in no answer, page source or console line.
        logs = browser.get_log("browser")
        assert TOKEN not in browser.page_source
        assert all(TOKEN not in json.dumps(entry) for entry in logs)
        # rjsf logs the bad value of step 4 as an error; nothing else may fail.
        assert [e for e in logs if e["level"] == "SEVERE" and "Form validation failed" not in e["message"]] == []
        assert recording.bodies and all(TOKEN.encode() not in body for body in recording.bodies)

    # 8. The saved query survives a restart of the service.
    with start(build_app(tmp_path / "host.sqlite3")) as running:
        open_page(browser, running)
        shown(browser, "#nav-queries").click()
        shown(browser, '[data-query="my buckets"] button.rerun').click()
        wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".results .summary"))
        assert shown(browser, ".results .summary .pill").text == "HTTP 200"
        assert BUCKET in browser.find_element(By.CSS_SELECTOR, "table.rows").text
        snap(browser, "6-saved-query-after-restart", ".results")


def test_a_long_write_shows_progress_and_api_errors_show_status_code_and_message(
        browser, sandbox_with_bucket, tmp_path) -> None:
    with start(build_app(tmp_path / "host.sqlite3")) as running:
        open_page(browser, running)
        add_influx_source(browser, sandbox_with_bucket, "local", TOKEN)
        # The service's own field errors (by_field) show under their field: a name already taken.
        shown(browser, "#add-source").click()
        type_into(browser, "source-name", "local")
        type_into(browser, "root_token", TOKEN)
        type_into(browser, "root_host", "127.0.0.1")
        shown(browser, "#save-source").click()
        assert "already saved" in shown(browser, "#source-name ~ .field-error, .field-error").text
        browser.find_element(By.XPATH, "//button[.='Cancel']").click()
        shown(browser, "#nav-queries").click()
        choose_operation(browser, "write_data")
        paste_into(browser, "root_data", "\n".join(f"m,k=v f={i} {i + 1}" for i in range(1500)))
        open_advanced(browser)
        type_into(browser, "root_batch_size", "1")
        shown(browser, "#run").click()
        # Watched while the write runs: the bar counts the records sent of all.
        bar = WebDriverWait(browser, 60, poll_frequency=0.02).until(
            ec.visibility_of_element_located((By.CSS_SELECTOR, ".progress")))
        assert "of 1500 records sent" in bar.text
        snap(browser, "7-write-progress", ".progress")
        wait(browser, lambda d: "HTTP 204" in d.find_element(By.CSS_SELECTOR, ".results").text, 120)
        assert not browser.find_elements(By.CSS_SELECTOR, ".progress")

        type_into(browser, "root_batch_size", "5000")
        type_into(browser, "root_data", "not line protocol")
        run_and_wait(browser)
        error = shown(browser, ".results .error")
        assert "HTTP 502" in error.text and "upstream_error" in error.text
        assert "server answered HTTP 400 [invalid]" in error.find_element(By.CSS_SELECTOR, ".upstream").text
        snap(browser, "8-api-error", ".results")

        # Deleting a data source asks first, then it is gone from the page and the service.
        shown(browser, "#nav-sources").click()
        shown(browser, '[data-source="local"] button.delete').click()
        wait(browser, ec.alert_is_present()).accept()
        wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, '[data-source="local"]'))
        assert running.app.store.sources() == []


def v3_operations() -> list[str]:
    """The operations an InfluxDB 3 server serves, as the manifest's needs say."""
    from influx_connector import api

    return [op.id for op in api.load().operations.values() if "v3" in op.needs.get("api", ("v3",))]


def listed_operations(driver: Any) -> list[str]:
    shown(driver, '#query-operation[data-listed="checked"]')
    return option_values(driver)


def test_influxdb_3_through_the_page_lists_its_operations_writes_queries_and_charts_sql(browser, tmp_path) -> None:
    with Sandbox(token=TOKEN, api="v3", bucket=None) as sandbox, \
            start(build_app(tmp_path / "host.sqlite3")) as running:
        browser.get_log("browser")  # what earlier tests left in the console is theirs
        open_page(browser, running)
        # A data source whose API is left to be found out (the form's default, auto).
        shown(browser, "#add-source").click()
        Select(shown(browser, "#source-type")).select_by_value("influxdb")
        assert Select(shown(browser, "#root_api")).first_selected_option.text == "Find out"
        type_into(browser, "source-name", "influx3")
        type_into(browser, "root_token", TOKEN)
        type_into(browser, "root_host", "127.0.0.1")
        type_into(browser, "root_port", str(sandbox.connection_settings["port"]))
        shown(browser, "#save-source").click()
        shown(browser, '[data-source="influx3"]')

        # Not tested yet: the API is unknown, so every operation is listed, and the page says why.
        shown(browser, "#nav-queries").click()
        wait(browser, lambda d: "query_data" in listed_operations(d))
        assert "not known yet" in shown(browser, '[data-availability="undetermined"]').text

        # Test connection finds out v3 (InfluxDB 3's steps), and the page shows it on the card.
        shown(browser, "#nav-sources").click()
        steps = connection_test(browser, "influx3")
        assert steps == {"reachable": "passed", "token": "passed", "database": "skipped"}, steps
        assert "API v3" in shown(browser, '[data-source="influx3"] [data-detected="api"]').text
        snap(browser, "9-influxdb3-tested")

        # Only the operations of InfluxDB 3 are listed now, in the declared order.
        shown(browser, "#nav-queries").click()
        wait(browser, lambda d: "query_data" not in listed_operations(d))
        assert listed_operations(browser) == v3_operations()
        assert {"query_sql", "query_influxql_v3", "write_lp", "create_database"} <= set(v3_operations())
        note = shown(browser, '[data-availability="filtered"]').text
        assert note.startswith("Listing the operations for API v3 (found out by test);"), note

        # Create a database, write records into it, query them with SQL.
        choose_operation(browser, "create_database")
        type_into(browser, "root_db", "home")
        run_and_wait(browser)
        assert "HTTP 200" in shown(browser, ".results .summary").text

        choose_operation(browser, "write_lp")
        type_into(browser, "root_db", "home")
        Select(shown(browser, "#root_precision")).select_by_visible_text("Seconds")
        lines = [f"air,room={room} temp={20 + i + (0.5 if room == 'b' else 0)} {1700000000 + 60 * i}"
                 for room in ("a", "b") for i in range(5)]
        type_into(browser, "root_data", "\n".join(lines))
        run_and_wait(browser)
        assert "HTTP 204" in shown(browser, ".results .summary").text
        assert [r.path for r in sandbox.requests if r.method == "POST"][-1] == "/api/v3/write_lp"

        choose_operation(browser, "query_sql")
        type_into(browser, "root_db", "home")
        type_into(browser, "root_q", "SELECT time, room, temp FROM air ORDER BY time")
        run_and_wait(browser)
        assert shown(browser, ".results .count").text == "10 rows"
        assert_chart_drawn(browser, ["room=a temp", "room=b temp"])
        snap(browser, "10-influxdb3-sql-chart", ".results")
        shown(browser, ".tabs button:nth-child(1)").click()  # the table
        assert len(browser.find_elements(By.CSS_SELECTOR, "table.rows tbody tr")) == 10
        assert "2023-11-14T22:13:20" in browser.find_element(By.CSS_SELECTOR, "table.rows").text
        assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


@pytest.fixture
def influx3_page(browser, tmp_path) -> Iterator[tuple[Any, Sandbox]]:
    """The page with an InfluxDB 3 data source on the sandbox, records written to database home
    (two rooms, five minutes each, from 2023-11-14T22:13:20 UTC), on the Queries screen."""
    with Sandbox(token=TOKEN, api="v3", bucket=None) as sandbox, \
            start(build_app(tmp_path / "host.sqlite3")) as running:
        from influx_connector import api

        with api.connect({**sandbox.connection_settings, "api": "v3"}) as conn:
            conn.run("create_database", {"db": "home"})
            lines = [f"air,room={room} temp={20 + i + (0.5 if room == 'b' else 0)} {1700000000 + 60 * i}"
                     for room in ("a", "b") for i in range(5)]
            conn.run("write_lp", {"db": "home", "data": "\n".join(lines), "precision": "second"})
        browser.get_log("browser")  # what earlier tests left in the console is theirs
        open_page(browser, running)
        shown(browser, "#add-source").click()
        Select(shown(browser, "#source-type")).select_by_value("influxdb")
        type_into(browser, "source-name", "influx3")
        type_into(browser, "root_token", TOKEN)
        type_into(browser, "root_host", "127.0.0.1")
        type_into(browser, "root_port", str(sandbox.connection_settings["port"]))
        Select(shown(browser, "#root_api")).select_by_visible_text("InfluxDB 3 (v3)")
        shown(browser, "#save-source").click()
        shown(browser, '[data-source="influx3"]')
        shown(browser, "#nav-queries").click()
        wait(browser, lambda d: "query_sql" in listed_operations(d))
        yield browser, sandbox


def test_the_operation_the_page_offers_first_runs_without_choosing_it(influx3_page) -> None:
    """Until the service says what the server serves, the page offers the data source's first
    operation; once it has, the first the server serves. A person who fills that form and runs
    it sends that operation's fields only, not those of the form shown before."""
    browser, sandbox = influx3_page
    first = listed_operations(browser)[0]
    assert first == "query_sql" and shown(browser, "#query-operation").get_attribute("value") == first
    type_into(browser, "root_db", "home")
    type_into(browser, "root_q", "SELECT time, room, temp FROM air ORDER BY time")
    run_and_wait(browser)
    assert shown(browser, ".results .count").text == "10 rows"
    assert [r.path for r in sandbox.requests if r.method == "POST"][-1] == "/api/v3/query_sql"
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_a_parquet_answer_is_offered_as_a_download_of_the_very_bytes(influx3_page, tmp_path) -> None:
    browser, sandbox = influx3_page
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    choose_operation(browser, "query_sql")
    type_into(browser, "root_db", "home")
    type_into(browser, "root_q", "SELECT time, room, temp FROM air ORDER BY time")
    open_advanced(browser)
    Select(shown(browser, "#root_format")).select_by_visible_text("Parquet as bytes")
    run_and_wait(browser)
    wire = next(r.body for q, r in zip(reversed(sandbox.requests), reversed(sandbox.responses))
                if q.path == "/api/v3/query_sql")
    assert wire.startswith(b"PAR1")
    summary = shown(browser, ".results .summary").text
    assert f"binary answer, {len(wire):,} bytes, application/vnd.apache.parquet" in summary, summary
    assert "PAR1" not in browser.find_element(By.CSS_SELECTOR, ".results").text  # no garbled bytes shown
    link = shown(browser, ".results a.download")
    assert link.get_attribute("download") == "query_sql.parquet" and link.text == "Download query_sql.parquet"
    assert link.get_attribute("href").startswith("blob:")
    snap(browser, "11-parquet-download", ".results")

    # A person clicks Download: the file saved is the server's answer, byte for byte.
    link.click()
    saved = downloads / "query_sql.parquet"
    wait(browser, lambda d: saved.exists() and not list(downloads.glob("*.crdownload")), 60)
    assert saved.read_bytes() == wire
    import pyarrow.parquet as pq

    assert pq.read_table(saved).num_rows == 10

    # The JSON tab shows the documented shape: base64 of the same bytes, its size and type.
    browser.find_element(By.XPATH, "//div[@class='tabs']/button[.='JSON']").click()
    shown_json = json.loads(shown(browser, "pre.json").text)
    from influx_connector.binary import from_binary_json

    assert from_binary_json(shown_json["data"]) == wire
    assert shown_json["data"]["$binary"]["size"] == len(wire)
    assert shown_json["data"]["$binary"]["content_type"] == "application/vnd.apache.parquet"
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []


def test_zone_less_times_are_charted_as_utc_in_a_browser_elsewhere(influx3_page) -> None:
    browser, _ = influx3_page
    zone = "America/New_York"
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": zone})
    try:
        # The browser really is elsewhere: read as local time, the first instant would be 5 hours later.
        assert browser.execute_script("return Intl.DateTimeFormat().resolvedOptions().timeZone") == zone
        assert browser.execute_script(
            "return (new Date('2023-11-14T22:13:20').getTime() - Date.parse('2023-11-14T22:13:20Z')) / 3600000") == 5
        choose_operation(browser, "query_sql")
        type_into(browser, "root_db", "home")
        type_into(browser, "root_q", "SELECT time, room, temp FROM air ORDER BY time")
        open_advanced(browser)
        Select(shown(browser, "#root_format")).select_by_visible_text("JSON")
        run_and_wait(browser)
        assert_chart_drawn(browser, ["room=a temp", "room=b temp"])
        chart = shown(browser, ".chart[data-lines]")
        # The instants drawn are the UTC ones the table shows.
        assert chart.get_attribute("data-first") == "2023-11-14T22:13:20.000Z"
        assert chart.get_attribute("data-last") == "2023-11-14T22:17:20.000Z"
        # The time a person reads off the chart (the legend, at the first point) is UTC too,
        # not New York's 5:13pm.
        from selenium.webdriver.common.action_chains import ActionChains

        over = shown(browser, ".chart .u-over")
        ActionChains(browser).move_to_element_with_offset(over, -over.size["width"] // 2 + 2, 0).perform()
        when = browser.find_element(By.CSS_SELECTOR, ".chart .u-legend .u-series:first-child .u-value")
        wait(browser, lambda d: when.text not in ("", "--"))
        assert when.text == "2023-11-14 10:13pm", when.text
        snap(browser, "12-utc-chart-in-new-york", ".results")
    finally:
        browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})
