"""The TUI says where its target came from, through the same resolver as the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from katarestore_tui.app.app import KatarestoreApp
from tests.app.conftest import run, wait_for


def _label(tmp_path: Path) -> str:
    (tmp_path / "kata_json").mkdir(exist_ok=True)
    app = KatarestoreApp(dsn=None, backup_root=tmp_path / "kata_json")
    label = ""

    async def scenario():
        nonlocal label
        async with app.run_test(size=(100, 24)) as pilot:
            await wait_for(pilot, lambda: app.dsn, what="the target")
            label = app.target_label

    run(scenario)
    return label


def test_prisma_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "prisma").mkdir()
    (tmp_path / "prisma/.env").write_text(
        'DATABASE_URL="postgresql://kata:s3cretpw@db.internal:6543/lms?schema=app"\n')
    label = _label(tmp_path)
    assert "kata@db.internal:6543/lms schema app" in label
    assert "(from DATABASE_URL in ./prisma/.env)" in label and "s3cretpw" not in label


def test_pg_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in {"PGHOST": "127.0.0.1", "PGPORT": "1", "PGDATABASE": "lms", "PGUSER": "kata",
                        "PGPASSWORD": "pw-in-env"}.items():
        monkeypatch.setenv(name, value)
    label = _label(tmp_path)
    assert "kata@127.0.0.1:1/lms" in label and "embedded" not in label
    assert "(from PGDATABASE, PGHOST, PGPASSWORD, PGPORT, PGUSER)" in label
    assert "pw-in-env" not in label
