"""JSON value -> PostgreSQL text input form, unit by unit and through a real COPY."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import ijson
import psycopg
import pytest
from psycopg import errors

from katarestore_tui.db.convert import ConversionError, converter_for, json_text
from katarestore_tui.db.schema import Column, read_schema

NUL = "text contains a NUL character (\\u0000), which PostgreSQL cannot store"


def col(base_type: str, category: str, type_name: str | None = None, **kw: object) -> Column:
    return Column(
        name="c",
        type_name=type_name or base_type,
        base_type=base_type,
        category=category,
        **kw,  # type: ignore[arg-type]
    )


TEXT = col("text", "S")
VARCHAR = col("varchar", "S", "character varying(3)", max_length=3)
INT4 = col("int4", "N", "integer")
INT8 = col("int8", "N", "bigint")
NUMERIC = col("numeric", "N")
FLOAT8 = col("float8", "N", "double precision")
BOOL = col("bool", "B", "boolean")
TSTZ = col("timestamptz", "D", "timestamp with time zone")
TS = col("timestamp", "D", "timestamp without time zone")
DATE = col("date", "D")
TIME = col("time", "D", "time without time zone")
TIMETZ = col("timetz", "D", "time with time zone")
JSON = col("json", "U")
JSONB = col("jsonb", "U")
BYTEA = col("bytea", "U")
UUID = col("uuid", "U")
INTERVAL = col("interval", "T")
MOOD_LABELS = ("sad", "ok", "happy", "calm", "angry", "bored", "eager")
MOOD = col("mood", "E", enum_labels=MOOD_LABELS)
TEXT_ARRAY = col("text", "S", "text[]", is_array=True)
INT_ARRAY = col("int4", "N", "integer[]", is_array=True)
JSONB_ARRAY = col("jsonb", "U", "jsonb[]", is_array=True)
BYTEA_ARRAY = col("bytea", "U", "bytea[]", is_array=True)


def convert(column: Column, value: object) -> str | None:
    return converter_for(column)(value)


# ------------------------------------------------------------------------------ unit


def test_none_is_null_for_every_type() -> None:
    for column in (
        TEXT,
        INT4,
        NUMERIC,
        FLOAT8,
        BOOL,
        TSTZ,
        DATE,
        JSON,
        JSONB,
        BYTEA,
        UUID,
        MOOD,
        TEXT_ARRAY,
        INTERVAL,
    ):
        assert convert(column, None) is None, column.base_type


def test_text() -> None:
    value = 'tab\there "q" back\\slash\nnew line é 😀'
    assert convert(TEXT, value) is value  # passed through, not copied
    assert convert(TEXT, 42) == "42"
    assert convert(TEXT, 2**70) == str(2**70)
    assert convert(TEXT, Decimal("12.50")) == "12.50"
    assert convert(TEXT, True) == "true"
    assert convert(TEXT, False) == "false"
    assert convert(TEXT, {"a": [1, Decimal("0.5")], "é": None}) == '{"a":[1,0.5],"é":null}'
    assert convert(TEXT, ["x", 1]) == '["x",1]'
    assert convert(VARCHAR, "much longer than three") == "much longer than three"  # no cut


def test_nul_in_text_is_refused() -> None:
    with pytest.raises(ConversionError) as info:
        convert(TEXT, "a\x00b")
    assert str(info.value) == NUL
    for column in (VARCHAR, NUMERIC, TSTZ, UUID, INT4, BOOL, INTERVAL):
        with pytest.raises(ConversionError, match="NUL"):
            convert(column, "1\x00")


def test_lone_surrogate_is_refused() -> None:
    broken = json.loads('"ab\\udc80"')  # what ijson hands over for a lone escape
    for column in (TEXT, TSTZ, NUMERIC, JSON, UUID):
        with pytest.raises(ConversionError, match="surrogate"):
            convert(column, broken)
    assert convert(TEXT, json.loads('"\\ud83d\\ude00"')) == "😀"  # a real pair is fine


def test_integer() -> None:
    assert convert(INT8, 2**63 - 1) == "9223372036854775807"
    assert convert(INT8, 12345678901234567891) == "12345678901234567891"  # server: out of range
    assert convert(INT4, -7) == "-7"
    assert convert(INT4, Decimal("1E+3")) == "1000"
    assert convert(INT4, Decimal("5.0")) == "5"
    assert convert(INT4, Decimal("1.5")) == "1.5"  # the server says it is not an integer
    assert convert(INT4, "42") == "42"
    for bad in (True, False, {"a": 1}, [1]):
        with pytest.raises(ConversionError, match="expected a number for integer"):
            convert(INT4, bad)
    with pytest.raises(ConversionError, match="in range"):
        convert(INT8, Decimal("1E+400"))


def test_numeric_keeps_exact_text() -> None:
    s = "12.50"
    assert convert(NUMERIC, s) is s
    assert convert(NUMERIC, Decimal("12.50")) == "12.50"
    assert convert(NUMERIC, Decimal("1E+3")) == "1000"
    assert convert(NUMERIC, Decimal("1E-7")) == "0.0000001"
    assert convert(NUMERIC, Decimal("-0.000")) == "-0.000"
    assert convert(NUMERIC, 2**70) == str(2**70)
    assert convert(NUMERIC, Decimal("NaN")) == "NaN"
    assert convert(NUMERIC, "not a number") == "not a number"  # the server rejects it
    with pytest.raises(ConversionError) as info:
        convert(NUMERIC, True)
    assert str(info.value) == "expected a number for numeric, got boolean true"
    with pytest.raises(ConversionError, match="range"):
        convert(NUMERIC, Decimal("1E+999999"))


def test_float() -> None:
    assert convert(FLOAT8, Decimal("0.1")) == "0.1"
    assert convert(FLOAT8, Decimal("1E+308")) == "1E+308"
    assert convert(FLOAT8, 3) == "3"
    assert convert(FLOAT8, "Infinity") == "Infinity"
    with pytest.raises(ConversionError):
        convert(FLOAT8, False)


def test_bool() -> None:
    assert convert(BOOL, True) == "t"
    assert convert(BOOL, False) == "f"
    for text in ("true", "false", "t", "f", "1", "0", "yes", "no"):
        assert convert(BOOL, text) == text
    assert convert(BOOL, 1) == "t"
    assert convert(BOOL, 0) == "f"
    for bad in (2, -1, Decimal("0.5"), {"x": 1}, [True]):
        with pytest.raises(ConversionError, match="boolean"):
            convert(BOOL, bad)


def test_timestamps_pass_iso_strings() -> None:
    for text in (
        "2024-11-03T10:15:30.123Z",
        "2024-11-03T10:15:30Z",
        "2024-11-03T10:15:30",
        "2024-11-03 10:15:30",
    ):
        assert convert(TSTZ, text) is text
        assert convert(TS, text) is text
    # timestamptz reads an offset itself; a timestamp column gets the instant in UTC (#9.12)
    assert convert(TSTZ, "2024-11-03T10:15:30.123+02:00") == "2024-11-03T10:15:30.123+02:00"
    assert convert(TS, "2024-11-03T10:15:30.123+02:00") == "2024-11-03T08:15:30.123000"


def test_epoch_numbers() -> None:
    # >= 1e11 is milliseconds, below it seconds
    assert convert(TSTZ, 1700000000123) == "2023-11-14T22:13:20.123000+00:00"
    assert convert(TSTZ, 1700000000) == "2023-11-14T22:13:20+00:00"
    assert convert(TSTZ, 0) == "1970-01-01T00:00:00+00:00"
    assert convert(TSTZ, -1700000000123) == "1916-02-18T01:46:39.877000+00:00"
    assert convert(TSTZ, 99_999_999_999) == "5138-11-16T09:46:39+00:00"  # seconds
    assert convert(TSTZ, 100_000_000_000) == "1973-03-03T09:46:40+00:00"  # ms
    # exact: a float would turn .123456 into .123455999...
    assert convert(TSTZ, Decimal("1700000000.123456")) == "2023-11-14T22:13:20.123456+00:00"
    assert convert(TSTZ, Decimal("1700000000123.5")) == "2023-11-14T22:13:20.123500+00:00"
    assert convert(TS, 1700000000123) == "2023-11-14T22:13:20.123000+00:00"
    assert convert(DATE, 1700000000123) == "2023-11-14"
    assert convert(DATE, "2024-11-03T00:00:00.000Z") == "2024-11-03T00:00:00.000Z"
    assert convert(TIME, 1700000000123) == "22:13:20.123000"
    assert convert(TIMETZ, 1700000000) == "22:13:20+00:00"


def test_mongo_dates() -> None:
    assert convert(TSTZ, {"$date": "2024-11-03T10:15:30.123Z"}) == "2024-11-03T10:15:30.123Z"
    assert convert(TSTZ, {"$date": 1700000000123}) == "2023-11-14T22:13:20.123000+00:00"
    # numbers in $date are always milliseconds, even small ones
    assert convert(TSTZ, {"$date": 1000}) == "1970-01-01T00:00:01+00:00"
    assert convert(DATE, {"$date": {"$numberLong": "1700000000123"}}) == "2023-11-14"
    assert convert(TSTZ, {"$date": None}) is None


def test_bad_dates() -> None:
    for bad in (True, [1], {"when": "2024"}, {"$date": [1]}, Decimal("NaN")):
        with pytest.raises(ConversionError, match="expected an ISO date/time string"):
            convert(TSTZ, bad)
    with pytest.raises(ConversionError, match="years 1-9999"):
        convert(TSTZ, 10**16)
    with pytest.raises(ConversionError, match="years 1-9999"):
        convert(TSTZ, -99_999_999_999)


def test_json_keeps_numbers_exact() -> None:
    value = json.loads(
        '{"price": 0.1, "big": 12345678901234567890, "scaled": 12.50, "exp": 1e3,'
        ' "nested": [1, 2.5, {"x": null, "t": true}], "s": "é\\n\\"", "k": -0.0}',
        parse_float=Decimal,
    )
    expected = (
        '{"price":0.1,"big":12345678901234567890,"scaled":12.50,"exp":1E+3,'
        '"nested":[1,2.5,{"x":null,"t":true}],"s":"é\\n\\"","k":-0.0}'
    )
    assert convert(JSON, value) == expected
    assert convert(JSONB, value) == expected
    no_decimal = {"a": [1, "b", None, False]}
    assert convert(JSONB, no_decimal) == '{"a":[1,"b",null,false]}'


def test_json_scalars() -> None:
    assert convert(JSONB, "abc") == '"abc"'
    assert convert(JSONB, '{"already": "json"}') == '"{\\"already\\": \\"json\\"}"'
    assert convert(JSONB, "nul\x00") == '"nul\\u0000"'  # jsonb itself refuses \u0000
    assert convert(JSONB, 7) == "7"
    assert convert(JSONB, Decimal("7.10")) == "7.10"
    assert convert(JSONB, True) == "true"
    assert convert(JSONB, False) == "false"
    assert convert(JSONB, []) == "[]"
    with pytest.raises(ConversionError, match="NaN"):
        convert(JSONB, {"a": Decimal("NaN")})


def test_json_text_nested_too_deep() -> None:
    deep: list[object] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(ConversionError, match="nested too deeply"):
        json_text(deep)


def test_arrays() -> None:
    assert convert(
        TEXT_ARRAY, ["a", "b c", "with,comma", 'q"uote', "back\\slash", None, "NULL", "", "{x}"]
    ) == ('{"a","b c","with,comma","q\\"uote","back\\\\slash",NULL,"NULL","","{x}"}')
    assert convert(TEXT_ARRAY, [["a", "b"], ["c", None]]) == '{{"a","b"},{"c",NULL}}'
    assert convert(TEXT_ARRAY, []) == "{}"
    literal = '{a,"b c"}'
    assert convert(TEXT_ARRAY, literal) is literal
    assert convert(INT_ARRAY, [1, Decimal("1E+3"), None]) == '{"1","1000",NULL}'
    assert convert(col("timestamptz", "D", is_array=True), ["2024-01-01T00:00:00Z", 0]) == (
        '{"2024-01-01T00:00:00Z","1970-01-01T00:00:00+00:00"}'
    )
    # json elements: an inner list is one JSON value, not a second dimension
    assert convert(JSONB_ARRAY, [{"a": 1}, [1, 2], "s"]) == '{"{\\"a\\":1}","[1,2]","\\"s\\""}'
    assert convert(BYTEA_ARRAY, [{"type": "Buffer", "data": [1, 2]}]) == '{"\\\\x0102"}'
    for bad in ("a,b", 5, {"a": 1}, True):
        with pytest.raises(ConversionError, match="JSON array or a PostgreSQL array literal"):
            convert(TEXT_ARRAY, bad)
    with pytest.raises(ConversionError, match="NUL"):
        convert(TEXT_ARRAY, ["ok", "bad\x00"])
    with pytest.raises(ConversionError, match="boolean"):
        convert(col("bool", "B", is_array=True), [True, 5])


def test_bytea() -> None:
    buffer = {"type": "Buffer", "data": [0, 1, 127, 128, 255]}
    assert convert(BYTEA, buffer) == "\\x00017f80ff"
    assert convert(BYTEA, [222, 173]) == "\\xdead"
    assert convert(BYTEA, "\\xdeadbeef") == "\\xdeadbeef"
    assert convert(BYTEA, "3q2+7w==") == "\\xdeadbeef"
    assert convert(BYTEA, "") == "\\x"
    assert convert(BYTEA, {"type": "Buffer", "data": []}) == "\\x"
    with pytest.raises(ConversionError) as info:
        convert(BYTEA, "not base64!")
    message = str(info.value)
    assert "\\x-hex" in message and "base64" in message and "Buffer" in message
    for bad in (
        {"type": "Buffer", "data": [256]},
        {"type": "Buffer", "data": ["a"]},
        {"data": [1]},
        [1, -1],
        True,
        5,
    ):
        with pytest.raises(ConversionError, match="bytea"):
            convert(BYTEA, bad)


def test_enum() -> None:
    assert convert(MOOD, "happy") == "happy"
    with pytest.raises(ConversionError) as info:
        convert(MOOD, "furious")
    assert str(info.value) == (
        "expected one of the labels 'sad', 'ok', 'happy', 'calm', 'angry', ... (7 labels) "
        'for mood, got string "furious"'
    )
    with pytest.raises(ConversionError, match="labels"):
        convert(MOOD, True)
    with pytest.raises(ConversionError, match="labels"):
        convert(MOOD, ["sad"])
    levels = col("level", "E", enum_labels=("1", "2"))
    assert convert(levels, 2) == "2"
    unknown = col("mood", "E")  # labels not read: the server decides
    assert convert(unknown, "anything") == "anything"


def test_other_types() -> None:
    u = "0f8fad5b-d9cb-469f-a165-70867728950e"
    assert convert(UUID, u) is u
    assert convert(INTERVAL, "1 day") == "1 day"
    assert convert(INTERVAL, 3600) == "3600"
    assert convert(INTERVAL, True) == "true"
    assert convert(col("point", "G"), {"x": 1}) == '{"x":1}'


def test_error_message_shows_value_truncated() -> None:
    with pytest.raises(ConversionError) as info:
        convert(INT4, {"key": "x" * 500})
    message = str(info.value)
    assert message.startswith('expected a number for integer, got object {"key":"xxx')
    assert message.endswith("…")
    assert len(message) < 140


def test_converter_is_chosen_by_type_not_by_value() -> None:
    domain_numeric = col("numeric", "N", "price")
    assert convert(domain_numeric, Decimal("1E+2")) == "100"
    money = col("money", "N")
    assert convert(money, "$12.50") == "$12.50"
    citext = col("citext", "S")
    assert convert(citext, 5) == "5"


# ---------------------------------------------------------------- through a real COPY

TYPES_SQL = """
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN price AS numeric(12, 2);
CREATE DOMAIN code AS varchar(8);
CREATE DOMAIN price2 AS price;
"""

# (SQL type, [(JSON text of the value, expected ::text read back)])
ROUND_TRIPS: dict[str, tuple[str, list[tuple[str, str | None]]]] = {
    "int2": ("int2", [("7", "7"), ('"-3"', "-3"), ("null", None)]),
    "int4": ("int4", [("2147483647", "2147483647"), ("1e3", "1000"), ("5.0", "5")]),
    "int8": (
        "int8",
        [("9223372036854775807", "9223372036854775807"), ("-9223372036854775808", "-9223372036854775808")],
    ),
    "numeric": (
        "numeric",
        [
            ('"12.50"', "12.50"),
            ("12.50", "12.50"),
            ("1e-7", "0.0000001"),
            ("123456789012345678901234567890.123456789", "123456789012345678901234567890.123456789"),
        ],
    ),
    "domain_numeric": ("price", [('"12.5"', "12.50"), ("3", "3.00")]),
    "domain_of_domain": ("price2", [('"0.1"', "0.10"), ("1e2", "100.00")]),
    "float8": ("float8", [("0.1", "0.1"), ("1e308", "1e+308"), ('"-Infinity"', "-Infinity")]),
    "float4": ("float4", [("1.5", "1.5")]),
    "bool": ("bool", [("true", "true"), ("false", "false"), ('"yes"', "true"), ("0", "false")]),
    "timestamptz": (
        "timestamptz",
        [
            ('"2024-11-03T10:15:30.123Z"', "2024-11-03 10:15:30.123+00"),
            ('"2024-11-03T10:15:30Z"', "2024-11-03 10:15:30+00"),
            ('"2024-11-03 10:15:30"', "2024-11-03 10:15:30+00"),
            ('"2024-11-03T12:15:30+02:00"', "2024-11-03 10:15:30+00"),
            ("1700000000123", "2023-11-14 22:13:20.123+00"),
            ("1700000000", "2023-11-14 22:13:20+00"),
            ("1700000000.123456", "2023-11-14 22:13:20.123456+00"),
            ('{"$date": "2024-11-03T10:15:30.123Z"}', "2024-11-03 10:15:30.123+00"),
            ('{"$date": {"$numberLong": "1700000000123"}}', "2023-11-14 22:13:20.123+00"),
        ],
    ),
    "timestamp": (
        "timestamp",
        [
            ('"2024-11-03T10:15:30.123Z"', "2024-11-03 10:15:30.123"),
            ("1700000000123", "2023-11-14 22:13:20.123"),
        ],
    ),
    "date": (
        "date",
        [
            ('"2024-11-03"', "2024-11-03"),
            ("1700000000123", "2023-11-14"),
            ('"2024-11-03T00:00:00.000Z"', "2024-11-03"),
        ],
    ),
    "time": ("time", [('"10:15:30"', "10:15:30"), ("1700000000123", "22:13:20.123")]),
    "timetz": ("timetz", [('"10:15:30+02"', "10:15:30+02"), ("1700000000123", "22:13:20.123+00")]),
    "text": (
        "text",
        [
            (
                '"tab\\there \\"q\\" back\\\\slash\\nnew line é 😀"',
                'tab\there "q" back\\slash\nnew line é 😀',
            ),
            ("42", "42"),
            ("12.50", "12.50"),
            ("true", "true"),
            ('{"a": [1, 0.1]}', '{"a":[1,0.1]}'),
            ('""', ""),
        ],
    ),
    "varchar": ("varchar(10)", [('"short"', "short")]),
    "domain_varchar": ("code", [('"abc"', "abc")]),
    "char": ("char(3)", [('"ab"', "ab")]),  # ::text drops the padding
    "uuid": ("uuid", [('"0F8FAD5B-D9CB-469F-A165-70867728950E"', "0f8fad5b-d9cb-469f-a165-70867728950e")]),
    "json": (
        "json",
        [
            (
                '{"a": 0.1, "big": 12345678901234567890, "s": "x\\u00e9"}',
                '{"a":0.1,"big":12345678901234567890,"s":"xé"}',
            ),
            ('"a string"', '"a string"'),
            ("[1, 2.50]", "[1,2.50]"),
        ],
    ),
    "jsonb": (
        "jsonb",
        [
            (
                '{"a": 0.1, "big": 12345678901234567890, "z": [true, null, 1e2]}',
                '{"a": 0.1, "z": [true, null, 100], "big": 12345678901234567890}',
            ),
            ('"s"', '"s"'),
            ("12.50", "12.50"),
        ],
    ),
    "bytea": (
        "bytea",
        [
            ('{"type": "Buffer", "data": [0, 1, 127, 128, 255]}', "\\x00017f80ff"),
            ('"3q2+7w=="', "\\xdeadbeef"),
            ('"\\\\xcafe"', "\\xcafe"),
            ("[1, 2]", "\\x0102"),
        ],
    ),
    "enum": ("mood", [('"happy"', "happy"), ('"sad"', "sad")]),
    "text[]": (
        "text[]",
        [
            (
                '["a", "b c", "q\\"uote", "back\\\\slash", null, "NULL", ""]',
                '{a,"b c","q\\"uote","back\\\\slash",NULL,"NULL",""}',
            ),
            ('"{x,y}"', "{x,y}"),
            ("[]", "{}"),
        ],
    ),
    "text[][]": ("text[][]", [('[["a", "b"], ["c", null]]', "{{a,b},{c,NULL}}")]),
    "int8[]": ("int8[]", [("[9223372036854775807, null, 1e3]", "{9223372036854775807,NULL,1000}")]),
    "numeric[]": ("price[]", [('["12.5", 3]', "{12.50,3.00}")]),
    "enum[]": ("mood[]", [('["sad", "ok"]', "{sad,ok}")]),
    "timestamptz[]": (
        "timestamptz[]",
        [
            (
                '["2024-01-01T00:00:00Z", 1700000000123]',
                '{"2024-01-01 00:00:00+00","2023-11-14 22:13:20.123+00"}',
            ),
        ],
    ),
    "jsonb[]": (
        "jsonb[]",
        [
            ('[{"a": 0.1}, [1, 2], "s"]', '{"{\\"a\\": 0.1}","[1, 2]","\\"s\\""}'),
        ],
    ),
    "bytea[]": ("bytea[]", [('[{"type": "Buffer", "data": [1, 2]}, "AQI="]', '{"\\\\x0102","\\\\x0102"}')]),
    "bool[]": ("bool[]", [("[true, false, null]", "{t,f,NULL}")]),
    "interval": ("interval", [('"1 day 02:00:00"', "1 day 02:00:00")]),
    "inet": ("inet", [('"10.0.0.1"', "10.0.0.1/32")]),
}


def _copy(conn: psycopg.Connection, table: str, rows: list[tuple[object, ...]]) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {table} FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)


@pytest.mark.parametrize("case", list(ROUND_TRIPS), ids=list(ROUND_TRIPS))
def test_round_trip(db: psycopg.Connection, case: str) -> None:
    sql_type, values = ROUND_TRIPS[case]
    db.execute(TYPES_SQL)
    db.execute(f"CREATE TABLE t (i int, c {sql_type})")
    db.execute("SET TimeZone = 'UTC'")
    column = read_schema(db).tables["t"].columns["c"]
    conv = converter_for(column)
    rows = [(i, conv(json.loads(text, parse_float=Decimal))) for i, (text, _) in enumerate(values)]
    _copy(db, "t", rows)
    got = db.execute("SELECT c::text FROM t ORDER BY i").fetchall()
    assert [r[0] for r in got] == [expected for _, expected in values]


def test_round_trip_python_values(db: psycopg.Connection) -> None:
    """One row of a Prisma-style backup, read back as Python values."""
    db.execute(TYPES_SQL)
    db.execute(
        "CREATE TABLE t (id int8, amount price, total numeric, created timestamptz,"
        " data bytea, grid text[], meta jsonb, tags mood[], note text)"
    )
    record = json.loads(
        """{"id": 9223372036854775807, "amount": "12.50", "total": 12.50,
            "created": 1733049000123,
            "data": {"type": "Buffer", "data": [104, 105, 0, 255]},
            "grid": [["a", "b\\"c"], ["d\\\\e", null]],
            "meta": {"price": 0.1, "big": 12345678901234567890},
            "tags": ["happy", "sad"], "note": "line1\\nline2\\ttab"}""",
        parse_float=Decimal,
    )
    columns = read_schema(db).tables["t"].columns
    row = tuple(converter_for(c)(record[name]) for name, c in columns.items())
    _copy(db, "t", [row])
    got = db.execute("SELECT * FROM t").fetchone()
    assert got is not None
    assert got[0] == 2**63 - 1
    assert got[1] == Decimal("12.50") and str(got[1]) == "12.50"
    assert str(got[2]) == "12.50"
    assert got[3] == datetime(2024, 12, 1, 10, 30, 0, 123000, tzinfo=UTC)
    assert got[4] == b"hi\x00\xff"
    assert got[5] == [["a", 'b"c'], ["d\\e", None]]
    assert got[6] == {"price": 0.1, "big": 12345678901234567890}  # psycopg's json.loads
    meta_text = db.execute("SELECT meta::text, meta->>'price', meta->>'big' FROM t").fetchone()
    assert meta_text == ('{"big": 12345678901234567890, "price": 0.1}', "0.1", "12345678901234567890")
    assert got[7] == "{happy,sad}"  # psycopg does not know the mood[] type: text
    assert got[8] == "line1\nline2\ttab"


def test_schema_introspection_feeds_converters(db: psycopg.Connection) -> None:
    db.execute(TYPES_SQL)
    db.execute("CREATE DOMAIN prices AS price[]")
    db.execute(
        "CREATE TABLE t (a price2, b price[], c code, d code[], e mood[], f prices,"
        " g varchar(5)[], h timestamptz[][], i jsonb)"
    )
    cols = read_schema(db).tables["t"].columns
    seen = {n: (c.base_type, c.category, c.is_array, c.max_length) for n, c in cols.items()}
    assert seen == {
        "a": ("numeric", "N", False, None),
        "b": ("numeric", "N", True, None),
        "c": ("varchar", "S", False, 8),
        "d": ("varchar", "S", True, 8),
        "e": ("mood", "E", True, None),
        "f": ("numeric", "N", True, None),
        "g": ("varchar", "S", True, 5),
        "h": ("timestamptz", "D", True, None),
        "i": ("jsonb", "U", False, None),
    }
    assert cols["e"].enum_labels == ("sad", "ok", "happy")
    assert converter_for(cols["a"])(Decimal("1E+1")) == "10"
    assert converter_for(cols["b"])([Decimal("1.5"), None]) == '{"1.5",NULL}'


def test_server_rejects_what_passes_through(db: psycopg.Connection) -> None:
    """Passed-through strings are checked by PostgreSQL: the record fails, not the tool."""
    db.execute("CREATE TABLE t (v varchar(3), n numeric, ts timestamptz)")
    columns = read_schema(db).tables["t"].columns
    convs = [converter_for(c) for c in columns.values()]
    with pytest.raises(errors.StringDataRightTruncation):
        _copy(db, "t", [tuple(f(v) for f, v in zip(convs, ["toolong", "1", None], strict=True))])
    with pytest.raises(errors.InvalidTextRepresentation):
        _copy(db, "t", [tuple(f(v) for f, v in zip(convs, ["ok", "1,5", None], strict=True))])
    with pytest.raises(errors.InvalidDatetimeFormat):
        _copy(db, "t", [tuple(f(v) for f, v in zip(convs, [None, None, "yesterday-ish"], strict=True))])
    assert db.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_nul_never_reaches_the_server(db: psycopg.Connection) -> None:
    db.execute("CREATE TABLE t (c text)")
    conv = converter_for(read_schema(db).tables["t"].columns["c"])
    with pytest.raises(ConversionError) as info:
        conv(json.loads('"before\\u0000after"'))
    assert str(info.value) == NUL


def test_values_as_ijson_parses_them() -> None:
    """The loader's input: ijson's C backend gives int, Decimal, str, bool, None, dict, list."""
    backup = (
        b'[{"id": 12345678901234567890, "price": 0.1, "qty": 1e3, "at": 1700000000123,'
        b' "note": "x\\u0000y", "meta": {"n": 2.50, "big": 12345678901234567890}}]'
    )
    (record,) = list(ijson.items(io.BytesIO(backup), "item"))
    assert convert(NUMERIC, record["id"]) == "12345678901234567890"
    assert convert(NUMERIC, record["price"]) == "0.1"
    assert convert(INT4, record["qty"]) == "1000"
    assert convert(TSTZ, record["at"]) == "2023-11-14T22:13:20.123000+00:00"
    assert convert(JSONB, record["meta"]) == '{"n":2.50,"big":12345678901234567890}'
    with pytest.raises(ConversionError, match="NUL"):
        convert(TEXT, record["note"])
