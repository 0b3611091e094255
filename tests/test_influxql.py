"""The InfluxQL answer decoder, on answers shaped as InfluxDB 1.6.7 sends them (observed on the real server)."""
import pytest

from influx_connector.errors import APIError, DecodeError
from influx_connector.influxdb.influxql import decode

JSON = b'{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","t","v"],"values":[[1700000000,"a",1],[1700000001,"b",-9223372036854775808]]}]}]}\n'
GROUPED = (b'{"results":[{"statement_id":0,"series":[{"name":"m","tags":{"t":"a"},"columns":["time","v"],"values":[[1,1.5]]},'
           b'{"name":"m","tags":{"t":"b"},"columns":["time","v"],"values":[[2,true]]}]},{"statement_id":1}]}')
CSV = (b"name,tags,time,v\nm,t=a,1,1\nm,t=b,1700000001,2\n\n"
       b"name,tags,time,t,v,w\nm2,,0,,\"a\nb\",\nm2,,1700000000,a,,1.5\n")


def test_json_rows_keep_types_and_exact_int64():
    rows = decode(JSON, "application/json")
    assert rows == [
        {"_statement": 0, "_series": "m", "time": 1700000000, "t": "a", "v": 1},
        {"_statement": 0, "_series": "m", "time": 1700000001, "t": "b", "v": -9223372036854775808},
    ]


def test_grouped_series_carry_their_tags_and_an_empty_statement_adds_nothing():
    rows = decode(GROUPED, "application/json")
    assert rows == [
        {"_statement": 0, "_series": "m", "t": "a", "time": 1, "v": 1.5},
        {"_statement": 0, "_series": "m", "t": "b", "time": 2, "v": True},
    ]
    series = decode(GROUPED, "application/json", shape="series")
    assert [s["tags"] for s in series] == [{"t": "a"}, {"t": "b"}]


def test_a_column_wins_over_a_tag_or_key_of_the_same_name():
    body = b'{"results":[{"statement_id":3,"series":[{"name":"measurements","columns":["name","_series"],"values":[["cpu","x"]]}]}]}'
    assert decode(body, "application/json") == [{"_statement": 3, "_series": "x", "name": "cpu"}]


def test_chunked_json_documents_are_joined():
    one = b'{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","v"],"values":[[1,1]],"partial":true}],"partial":true}]}\n'
    two = b'{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","v"],"values":[[2,2]]}]}]}\n'
    assert [r["time"] for r in decode(one + two, "application/json")] == [1, 2]


def test_csv_blocks_decode_to_rows_with_tags_and_integer_epoch_times():
    rows = decode(CSV, "application/csv")
    assert rows[0] == {"_statement": 0, "_series": "m", "t": "a", "time": 1, "v": "1"}
    assert rows[1]["t"] == "b" and rows[1]["time"] == 1700000001
    assert rows[2] == {"_statement": 1, "_series": "m2", "time": 0, "t": "", "v": "a\nb", "w": ""}
    assert len(rows) == 4


@pytest.mark.parametrize("body, content_type, says", [
    (b'{"results":[{"statement_id":0,"error":"database not found: nodb"}]}', "application/json",
     "statement 0: database not found: nodb"),
    (b'{"error":"error parsing query: found SELEC"}', "application/json", "error parsing query: found SELEC"),
    (b'error\n"error parsing query: empty bound parameter"\n', "text/csv", "empty bound parameter"),
])
def test_errors_inside_a_200_answer_are_raised_not_dropped(body, content_type, says):
    with pytest.raises(APIError) as caught:
        decode(body, content_type)
    assert says in str(caught.value)


@pytest.mark.parametrize("body, content_type", [
    (b'{"results": [', "application/json"),
    (b'[1, 2]', "application/json"),
    (b'time,v\n1,2\n', "text/csv"),
])
def test_answers_of_another_shape_are_a_decode_error(body, content_type):
    with pytest.raises(DecodeError):
        decode(body, content_type)


def test_raw_and_unknown_shapes():
    assert decode(JSON, "application/json", shape="raw") == JSON.decode()
    with pytest.raises(DecodeError, match="unknown InfluxQL result shape"):
        decode(JSON, "application/json", shape="table")


class _Answer:
    """Enough of a response for the error reader: status, reason and body."""

    def __init__(self, status, content):
        self.status_code, self.content, self.reason = status, content, "Not Found"


@pytest.mark.parametrize("content, message, code", [
    (b'{"code":"not found","message":"bucket not found"}', "bucket not found", "not found"),
    (b'{"error":"database not found: \\"x\\""}', 'database not found: "x"', None),
    (b'{"message":null,"error":"both shapes"}', "both shapes", None),
    (b'{}', "Not Found", None),
])
def test_an_error_key_may_list_alternatives_the_first_present_wins(content, message, code):
    from influx_connector.secrets import Redactor
    from influx_connector.transport import api_error

    err = api_error(_Answer(404, content), {"code": "code", "message": ["message", "error"]}, Redactor(), "op")
    assert (err.message, err.code) == (message, code)


def test_negative_zero_keeps_its_sign():
    body = b'{"results":[{"statement_id":0,"series":[{"name":"m","columns":["v","n"],"values":[[-0,0]]}]}]}'
    row = decode(body, "application/json")[0]
    assert str(row["v"]) == "-0.0" and row["n"] == 0 and isinstance(row["n"], int)
