"""Parser CPU per record, exact path against the typed fast path, in one run.

    python benchmarks/parser_benchmark.py --rows 1000000 --repeat 3

One Prisma-shaped table of the kind issue 10 measured (9 columns, camelCase keys, a
cuid primary key, numeric as "12.50", two timestamp(3) columns as ISO strings, a
nested jsonb), written as `JSON.stringify(rows, null, 2)` writes it. The same file is
turned into COPY batches (`encoded_batches`, what the parser process runs; no
database write) with the fast path off and on, alternately, `--repeat` times each.
It prints the parser's CPU time per record (process time: user + system, µs) for
each run, the median and the spread (min-max), how many chunks the fast path took,
and checks that both paths gave the same number of lines and the same bytes for
every column but the jsonb (whose text the fast path keeps as the file has it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
import uuid
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from katarestore_tui.backup.catalog import table_file
from katarestore_tui.db.schema import Table, read_schema
from katarestore_tui.engine import encoder, fastpath

HERE = Path(__file__).resolve().parent
SCHEMA = """
CREATE TABLE "LessonEvent" (
    id text PRIMARY KEY,
    user_id text NOT NULL,
    lesson_id integer NOT NULL,
    score numeric(10,2),
    completed boolean NOT NULL DEFAULT false,
    title text,
    payload jsonb,
    created_at timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamp(3) NOT NULL
);
CREATE INDEX ON "LessonEvent" (user_id);
"""


def write_file(path: Path, rows: int) -> None:
    """A JSON array as `JSON.stringify(rows, null, 2)` writes it, written in pieces."""
    rng = random.Random(10)
    with path.open("w", encoding="utf-8") as out:
        out.write("[")
        for i in range(rows):
            record = {
                "id": f"clx{i:09d}{rng.getrandbits(40):010x}",
                "userId": f"clu{rng.randrange(50_000):09d}",
                "lessonId": rng.randrange(1, 5_000),
                "score": f"{rng.randrange(10_000) / 100:.2f}",
                "completed": rng.random() < 0.7,
                "title": rng.choice(["Intro", "Fractions — part 2", "Übung 3", "Quiz\tfinal"]),
                "payload": {"answers": [rng.randrange(4) for _ in range(3)],
                            "device": {"os": rng.choice(["ios", "android", "web"]), "v": 12.5},
                            "note": None},
                "createdAt": f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T10:15:30.123Z",
                "updatedAt": "2024-11-03T10:15:30.123Z",
            }
            text = json.dumps(record, indent=2, ensure_ascii=False).replace("\n", "\n  ")
            out.write(("\n  " if i == 0 else ",\n  ") + text)
        out.write("\n]")


def one_run(path: Path, table: Table, fast: bool, batch_size: int) -> tuple[float, int, list]:
    """CPU seconds, records, and a sample of lines (every 997th) of one full parse."""
    encoder.FAST_PATH = fast
    tf = table_file(path)
    assert tf is not None
    records = 0
    sample: list[bytes] = []
    start = time.process_time()
    for batch in encoder.encoded_batches(tf, table, batch_size):
        if isinstance(batch, encoder.EncodedBatch):
            records += len(batch.lines)
            sample.extend(batch.lines[::997])
    return time.process_time() - start, records, sample


def counting_chunks() -> list[int]:
    """[taken, refused] chunks of the fast path (not counted: the first chunk of a file,
    which the exact path reads to learn the keys)."""
    counts = [0, 0]
    original = fastpath.FastPath.chunk

    def chunk(self: fastpath.FastPath, array: bytes) -> list[bytes] | None:
        learned = self.columns != ()
        lines = original(self, array)
        if learned:
            counts[0 if lines is not None else 1] += 1
        return lines

    fastpath.FastPath.chunk = chunk  # type: ignore[method-assign]
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each path")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--server", default=os.environ.get(
        "KATARESTORE_TEST_DSN", "postgresql://root@127.0.0.1:5432/postgres"))
    parser.add_argument("--data", type=Path, default=HERE.parent / "bench-data")
    args = parser.parse_args()

    args.data.mkdir(parents=True, exist_ok=True)
    path = args.data / f"LessonEvent_{args.rows}.json"
    if not path.exists():
        write_file(path, args.rows)
    name = f"katarestore_parser_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        params = conninfo_to_dict(args.server)
        params["dbname"] = name
        with psycopg.connect(make_conninfo(**params), autocommit=True) as conn:
            conn.execute(SCHEMA)
            table = read_schema(conn).tables["LessonEvent"]
    finally:
        with psycopg.connect(args.server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}"')

    counts = counting_chunks()
    print(f"{path.name}: {args.rows:,} records, {path.stat().st_size / 1e6:.0f} MB")
    runs: dict[str, list[float]] = {"exact": [], "fast": []}
    samples: dict[str, list] = {}
    for _ in range(args.repeat):
        for label in ("exact", "fast"):
            seconds, records, sample = one_run(path, table, label == "fast", args.batch_size)
            assert records == args.rows, (label, records)
            runs[label].append(seconds / records * 1e6)
            samples[label] = sample
            print(f"  {label:5}  {seconds:6.2f} s CPU  {runs[label][-1]:5.2f} µs/record")
    taken, refused = counts[0] // args.repeat, counts[1] // args.repeat
    jsonb = list(table.columns).index("payload")
    same = all(a.split(b"\t")[:jsonb] + a.split(b"\t")[jsonb + 1:]
               == b.split(b"\t")[:jsonb] + b.split(b"\t")[jsonb + 1:]
               for a, b in zip(samples["fast"], samples["exact"], strict=True))
    for label, values in runs.items():
        print(f"{label:5}: median {statistics.median(values):.2f} µs/record "
              f"(spread {min(values):.2f}-{max(values):.2f}, {len(values)} runs)")
    print(f"fast path: {taken} chunks taken, {refused} refused per run; "
          f"sampled lines equal but for the jsonb text: {same}")
    print(f"speed-up: {statistics.median(runs['exact']) / statistics.median(runs['fast']):.1f}x")


if __name__ == "__main__":
    main()
