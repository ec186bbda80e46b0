"""The scratch schema: a faithful copy of the target's tables, its own sequences and FKs."""

from __future__ import annotations

import psycopg
import pytest

from katarestore_tui.bench.scratch import ScratchSchema, drop_schema
from katarestore_tui.db.schema import read_schema
from katarestore_tui.demo import TABLES
from tests.bench.fixtures import demo_target, scratch_left

__all__ = ["demo_target"]


def test_the_copy_has_the_tables_keys_foreign_keys_and_its_own_sequences(demo_target):
    with psycopg.connect(demo_target.dsn, autocommit=True) as conn:
        target = read_schema(conn, "public")
        with ScratchSchema(demo_target.dsn, target, list(TABLES)) as scratch:
            copy = read_schema(conn, scratch.name)
            assert set(copy.tables) == set(TABLES)
            for name in TABLES:
                assert copy.tables[name].columns == target.tables[name].columns
                assert copy.tables[name].primary_key == target.tables[name].primary_key
                fks = {(fk.columns, fk.ref_table, fk.ref_columns) for fk in copy.tables[name].foreign_keys}
                assert fks == {(fk.columns, fk.ref_table, fk.ref_columns)
                               for fk in target.tables[name].foreign_keys}
                # serial columns draw from a sequence of the scratch schema, never the operator's
                for seq in copy.tables[name].sequences:
                    assert seq.name.startswith(scratch.name + ".")
            assert len(copy.tables["courses"].sequences) == 1
            conn.execute(f"INSERT INTO {scratch.name}.users (id, email, name) VALUES "
                         "('00000000-0000-0000-0000-000000000001', 'a@b.c', 'A')")
            with pytest.raises(psycopg.errors.ForeignKeyViolation):
                conn.execute(f"INSERT INTO {scratch.name}.courses (title, slug, price, instructor_id)"
                             " VALUES ('t', 's', 1, '00000000-0000-0000-0000-000000000009')")
            before = conn.execute("SELECT last_value FROM public.courses_id_seq").fetchone()
            conn.execute(f"INSERT INTO {scratch.name}.courses (title, slug, price, instructor_id)"
                         " VALUES ('t', 's', 1, '00000000-0000-0000-0000-000000000001')")
            assert conn.execute("SELECT last_value FROM public.courses_id_seq").fetchone() == before
        assert scratch_left(demo_target.dsn) == []


def test_a_parent_outside_the_backup_is_noted_not_copied(demo_target):
    with psycopg.connect(demo_target.dsn, autocommit=True) as conn:
        target = read_schema(conn, "public")
    scratch = ScratchSchema(demo_target.dsn, target, ["courses"])
    with scratch:
        assert any("users" in note for note in scratch.notes)
    assert scratch_left(demo_target.dsn) == []


def test_only_scratch_schemas_can_be_dropped(demo_target):
    with pytest.raises(ValueError):
        drop_schema(demo_target.dsn, "public")
