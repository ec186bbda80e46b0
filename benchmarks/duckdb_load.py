"""The DuckDB contender of restore_benchmark.py: read_json into PostgreSQL through DuckDB's
postgres extension, one INSERT ... SELECT per table file, in the Katacore order.

    python benchmarks/duckdb_load.py BACKUP_FOLDER DSN [--replica]

Needs the optional extra `bench` (duckdb and its postgres_scanner and json extensions as
packages of one version: nothing is downloaded at run time). Keys map to columns as
katarestore maps them (snake_case); each column is typed from the target's catalog so that
DuckDB does not guess. No accounting, no quarantine, no resume: a bad record fails the table.
Prints {"rows": N} on stdout.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path

import duckdb
import ijson
import psycopg
from psycopg.conninfo import make_conninfo

from katarestore_tui.demo import TABLES
from katarestore_tui.engine.naming import match_name


def extension(package: str, name: str) -> str:
    """The extension file a `duckdb-extension-*` package ships for this duckdb version."""
    module = importlib.import_module(package)
    found = Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    return str(found / f"{name}.duckdb_extension")


def duck_type(pg_type: str, udt: str, precision: int | None, scale: int | None) -> tuple[str, str]:
    """(the type read_json reads the key as, the expression that gives the column's value)."""
    if pg_type == "uuid":
        return "UUID", "{k}"
    if pg_type in ("integer", "smallint"):
        return "INTEGER", "{k}"
    if pg_type == "bigint":
        return "BIGINT", "{k}"
    if pg_type == "boolean":
        return "BOOLEAN", "{k}"
    if pg_type == "numeric":
        if precision is not None:
            return f"DECIMAL({precision},{scale or 0})", "{k}"
        return "VARCHAR", "{k}"  # unbounded NUMERIC: DuckDB has no such type; text, cast by PG
    if pg_type == "timestamp with time zone":
        return "TIMESTAMPTZ", "{k}"
    if pg_type == "timestamp without time zone":
        return "TIMESTAMPTZ", "CAST({k} AS TIMESTAMP)"
    if pg_type == "jsonb" or pg_type == "json":
        return "JSON", "{k}"
    if pg_type == "ARRAY":
        return "VARCHAR[]", "{k}"
    if pg_type == "bytea":  # Node's Buffer: {"type": "Buffer", "data": [bytes]}
        return ("STRUCT(type VARCHAR, data UTINYINT[])",
                "unhex(array_to_string(list_transform({k}.data, x -> lpad(printf('%x', x), 2,"
                " '0')), ''))")
    return "VARCHAR", "{k}"  # text, varchar, enums (PostgreSQL casts the text)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("backup", type=Path)
    parser.add_argument("dsn")
    parser.add_argument("--replica", action="store_true",
                        help="session_replication_role=replica: FK triggers off")
    args = parser.parse_args()
    with psycopg.connect(args.dsn) as conn:
        columns = {t: conn.execute(
            "SELECT column_name, data_type, udt_name, numeric_precision, numeric_scale"
            " FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s"
            " ORDER BY ordinal_position", (t,)).fetchall() for t in TABLES}
    con = duckdb.connect()
    con.execute(f"LOAD '{extension('duckdb_extension_postgres_scanner', 'postgres_scanner')}'")
    con.execute(f"LOAD '{extension('duckdb_extension_json', 'json')}'")
    target = (make_conninfo(args.dsn, options="-c session_replication_role=replica")
              if args.replica else make_conninfo(args.dsn))
    quoted = target.replace("'", "''")  # a string literal: ATTACH takes no parameter
    con.execute(f"ATTACH '{quoted}' AS pg (TYPE postgres)")
    rows = 0
    for table in TABLES:
        path = args.backup / f"{table}.json"
        with open(path, "rb") as handle:  # the keys of the first record (the backup's layout)
            first = next(ijson.items(handle, "item"), None)
        if not first:
            continue
        keys = list(first)
        types, names, exprs = {}, [], []
        for name, pg_type, udt, precision, scale in columns[table]:
            key = match_name(name, keys)
            if key is None:
                continue
            read_as, expr = duck_type(pg_type, udt, precision, scale)
            types[key] = read_as
            names.append(f'"{name}"')
            exprs.append(expr.format(k=f'"{key}"'))
        spec = "{" + ", ".join(f"'{k}': '{v}'" for k, v in types.items()) + "}"
        con.execute(f"INSERT INTO pg.public.{table} ({', '.join(names)}) SELECT "
                    f"{', '.join(exprs)} FROM read_json('{path}', format = 'array',"
                    f" columns = {spec})")
        rows += con.execute(f"SELECT count(*) FROM pg.public.{table}").fetchone()[0]
    json.dump({"rows": rows}, sys.stdout)


if __name__ == "__main__":
    main()
