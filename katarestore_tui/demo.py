"""A sample Katacore-shaped backup and its schema, for `katarestore demo` and the benchmarks.

The data is a small LMS: users, courses, lessons, enrollments, lesson_progress and
quiz_attempts, written the way Katacore's backup script writes it: one folder per backup
(`<root>/<YYYYMMDD_HHMMSS>/`), one `<table>.json` per table, each a single JSON array as
`JSON.stringify(rows, null, 2)` prints it. Keys are the Prisma model fields (camelCase,
`createdAt`, `userId`); the SQL columns are snake_case (`created_at`, `user_id`), which
katarestore maps itself. Values look like Prisma's: dates as ISO strings with milliseconds
and Z (also for `timestamp without time zone` columns), Decimal as strings the way
decimal.js prints them ("12.5", "49", "19.99", never "12.50"), BigInt ids as strings (the
usual `typeof v === 'bigint' ? v.toString() : v` replacer), Json as nested JSON, String[]
as arrays, Bytes as `{"type": "Buffer", "data": [...]}`, NULL as null.

Sizes grow from one number, `rows` = the rows of the largest table, lesson_progress:

    users           max(24, rows / 20)
    courses         max(5, rows / 2000)
    lessons         courses * 10
    enrollments     min(rows / 10, users * courses), at least 1 (one per user and course)
    lesson_progress rows           (about ten per enrollment: one per lesson of its course)
    quiz_attempts   rows / 4       (by enrolled users, on lessons of their course)

So rows=1,000,000 writes about 1.4 million records (~450 MB). Every foreign key of the good
data points at an existing row. With `bad_records`, eight extra records that must not
load are placed mid-file (nothing references them, so no good row depends on them):

    users           a repeat of an earlier row, byte for byte   -> duplicate
    users           an email of 300 characters (varchar(255))   -> failed
    courses         a title of 201 characters (varchar(200))    -> failed
    lessons         "position": "abc" (integer)                  -> failed
    lessons         a NUL character in content (text)            -> failed
    enrollments     "userId": null (NOT NULL)                    -> failed
    lesson_progress an enrollmentId that does not exist (FK)     -> failed
    quiz_attempts   "attemptedAt": "2024-02-30T25:61:00.000Z"    -> failed

Generation streams: each record is formatted by hand (json.dumps with indent is pure
Python and ~10x slower) and written in chunks, so memory does not grow with `rows`;
it is deterministic for a given seed (random.Random, and ids derived from indexes).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from json.encoder import encode_basestring as _q  # C-accelerated; like JSON.stringify
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

TABLES: tuple[str, ...] = (
    "users",
    "courses",
    "lessons",
    "enrollments",
    "lesson_progress",
    "quiz_attempts",
)
LESSONS_PER_COURSE = 10

DEMO_SCHEMA_SQL = """\
-- Katacore-style schema as `prisma migrate` writes it: tables, then indexes, then FKs.
-- Unique keys are unique INDEXES (not constraints), as Prisma makes them.

CREATE TYPE "user_role" AS ENUM ('STUDENT', 'INSTRUCTOR', 'ADMIN');

CREATE TABLE "users" (
    "id" UUID NOT NULL,
    "email" VARCHAR(255) NOT NULL,
    "name" TEXT NOT NULL,
    "role" "user_role" NOT NULL DEFAULT 'STUDENT',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "profile" JSONB,
    "tags" TEXT[] DEFAULT ARRAY[]::TEXT[],

    CONSTRAINT "users_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "courses" (
    "id" SERIAL NOT NULL,
    "title" VARCHAR(200) NOT NULL,
    "slug" TEXT NOT NULL,
    "price" DECIMAL(10,2) NOT NULL,
    "published" BOOLEAN NOT NULL DEFAULT false,
    "instructor_id" UUID NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "courses_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "lessons" (
    "id" SERIAL NOT NULL,
    "course_id" INTEGER NOT NULL,
    "position" INTEGER NOT NULL,
    "title" TEXT NOT NULL,
    "content" TEXT NOT NULL,
    "duration_minutes" INTEGER,

    CONSTRAINT "lessons_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "enrollments" (
    "id" BIGSERIAL NOT NULL,
    "user_id" UUID NOT NULL,
    "course_id" INTEGER NOT NULL,
    "enrolled_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "progress" DECIMAL(5,2) NOT NULL DEFAULT 0,

    CONSTRAINT "enrollments_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "lesson_progress" (
    "id" UUID NOT NULL,
    "enrollment_id" BIGINT NOT NULL,
    "lesson_id" INTEGER NOT NULL,
    "completed" BOOLEAN NOT NULL DEFAULT false,
    "score" NUMERIC,
    "completed_at" TIMESTAMPTZ(3),
    "data" JSONB NOT NULL DEFAULT '{}',

    CONSTRAINT "lesson_progress_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "quiz_attempts" (
    "id" BIGSERIAL NOT NULL,
    "user_id" UUID NOT NULL,
    "lesson_id" INTEGER NOT NULL,
    "answers" JSONB NOT NULL,
    "score" DECIMAL(5,2) NOT NULL,
    "attempted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "attachment" BYTEA,

    CONSTRAINT "quiz_attempts_pkey" PRIMARY KEY ("id")
);

CREATE UNIQUE INDEX "users_email_key" ON "users"("email");
CREATE UNIQUE INDEX "courses_slug_key" ON "courses"("slug");
CREATE INDEX "lessons_course_id_position_idx" ON "lessons"("course_id", "position");
CREATE UNIQUE INDEX "enrollments_user_id_course_id_key" ON "enrollments"("user_id", "course_id");
CREATE INDEX "lesson_progress_lesson_id_idx" ON "lesson_progress"("lesson_id");
CREATE INDEX "quiz_attempts_user_id_idx" ON "quiz_attempts"("user_id");

ALTER TABLE "courses" ADD CONSTRAINT "courses_instructor_id_fkey"
    FOREIGN KEY ("instructor_id") REFERENCES "users"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
ALTER TABLE "lessons" ADD CONSTRAINT "lessons_course_id_fkey"
    FOREIGN KEY ("course_id") REFERENCES "courses"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "enrollments" ADD CONSTRAINT "enrollments_user_id_fkey"
    FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "enrollments" ADD CONSTRAINT "enrollments_course_id_fkey"
    FOREIGN KEY ("course_id") REFERENCES "courses"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "lesson_progress" ADD CONSTRAINT "lesson_progress_enrollment_id_fkey"
    FOREIGN KEY ("enrollment_id") REFERENCES "enrollments"("id")
    ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "lesson_progress" ADD CONSTRAINT "lesson_progress_lesson_id_fkey"
    FOREIGN KEY ("lesson_id") REFERENCES "lessons"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "quiz_attempts" ADD CONSTRAINT "quiz_attempts_user_id_fkey"
    FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "quiz_attempts" ADD CONSTRAINT "quiz_attempts_lesson_id_fkey"
    FOREIGN KEY ("lesson_id") REFERENCES "lessons"("id") ON DELETE CASCADE ON UPDATE CASCADE;
"""


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class BadRecord:
    """One deliberately bad record: where it is and what a restore must do with it."""

    table: str
    index: int  # position in the table's JSON array, 0-based
    kind: str  # duplicate, too long, wrong type, NUL in text, missing value, orphan
    outcome: str  # "duplicate" or "failed"
    detail: str


@dataclass(frozen=True)
class DemoBackup:
    """A written backup and what a correct restore of it must report, per table."""

    path: Path
    rows_per_table: dict[str, int]  # records in each file, bad ones included
    expected: dict[str, dict[str, int]]  # table -> records, loaded, duplicates, failed
    bad_records: tuple[BadRecord, ...] = ()
    bytes_written: int = 0
    seconds: float = 0.0

    @property
    def total_records(self) -> int:
        return sum(self.rows_per_table.values())

    @property
    def records_per_second(self) -> float:
        return self.total_records / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class DemoSizes:
    """Good rows per table for a given `rows` (see the module docstring for the ratios)."""

    users: int
    courses: int
    lessons: int
    enrollments: int
    lesson_progress: int
    quiz_attempts: int

    @classmethod
    def for_rows(cls, rows: int) -> DemoSizes:
        if rows < 1:
            raise ValueError("rows must be at least 1")
        users = max(24, rows // 20)
        courses = max(5, rows // 2000)
        return cls(
            users=users,
            courses=courses,
            lessons=courses * LESSONS_PER_COURSE,
            enrollments=max(1, min(rows // 10, users * courses)),
            lesson_progress=rows,
            quiz_attempts=rows // 4,
        )

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in TABLES}


# ---------------------------------------------------------------- schema


DEMO_MARK = "katarestore demo"  # COMMENT ON every table and type the demo creates
DEMO_TYPES: tuple[str, ...] = ("user_role",)


class DemoRefused(Exception):
    """The target holds something the demo did not make where the demo would write."""


@dataclass(frozen=True)
class DemoTarget:
    """What a schema already holds, seen from the demo: only its own objects may go."""

    foreign: tuple[str, ...]  # demo names taken by tables/types the demo did not create
    demo_made: tuple[str, ...]  # tables and types marked with DEMO_MARK
    other_tables: tuple[str, ...]  # the operator's tables with other names

    @property
    def is_empty(self) -> bool:
        return not (self.foreign or self.demo_made or self.other_tables)


def inspect_demo_target(conn: psycopg.Connection[Any], schema: str = "public") -> DemoTarget:
    """Sort the schema's relations and types into the demo's own, taken names and the rest."""
    from katarestore_tui.engine.checkpoint import TABLE as CHECKPOINT_TABLE
    from katarestore_tui.engine.indexes import RECORD as INDEX_RECORD

    rows = conn.execute(
        "SELECT c.relname, obj_description(c.oid, 'pg_class'), c.relkind::text"
        " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
        " UNION ALL"
        " SELECT t.typname, obj_description(t.oid, 'pg_type'), 'type'"
        " FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
        " WHERE n.nspname = %s AND t.typname = ANY(%s)",
        (schema, schema, list(DEMO_TYPES)),
    ).fetchall()
    names = set(TABLES) | set(DEMO_TYPES)
    foreign, mine, other = [], [], []
    for name, comment, kind in rows:
        if comment == DEMO_MARK and ((name in TABLES and kind == "r") or kind == "type"):
            mine.append(name)
        elif name in names:
            foreign.append(name)
        elif name not in (CHECKPOINT_TABLE, INDEX_RECORD):
            other.append(name)
    return DemoTarget(tuple(sorted(foreign)), tuple(sorted(mine)), tuple(sorted(other)))


def create_demo_schema(
    conn: psycopg.Connection[Any], schema: str = "public", drop_existing: bool = False
) -> None:
    """Create the demo's enum, tables, indexes and FKs in `schema` (created if missing).

    Every object is marked with DEMO_MARK. `drop_existing` drops only marked objects,
    without CASCADE: a name the demo did not create, or an object of the operator's that
    depends on a demo table (a view, a foreign key), raises DemoRefused and nothing changes.
    """
    ident = sql.Identifier(schema)
    with conn.transaction():
        old_path = conn.execute("SELECT current_setting('search_path')").fetchone()
        exists = conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)
        ).fetchone()
        if exists is None:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(ident))
        if drop_existing:
            _drop_demo_objects(conn, schema)
        conn.execute("SELECT set_config('search_path', %s, true)", (ident.as_string(conn),))
        conn.execute(DEMO_SCHEMA_SQL)
        for table in TABLES:
            conn.execute(sql.SQL("COMMENT ON TABLE {}.{} IS {}").format(
                ident, sql.Identifier(table), sql.Literal(DEMO_MARK)))
        for type_name in DEMO_TYPES:
            conn.execute(sql.SQL("COMMENT ON TYPE {}.{} IS {}").format(
                ident, sql.Identifier(type_name), sql.Literal(DEMO_MARK)))
        # SET LOCAL would outlive us if the caller's transaction is still open
        conn.execute(
            "SELECT set_config('search_path', %s, true)", (old_path[0] if old_path else "",)
        )


def _drop_demo_objects(conn: psycopg.Connection[Any], schema: str) -> None:
    """Drop the demo's own tables and type, in one statement each, never with CASCADE."""
    target = inspect_demo_target(conn, schema)
    if target.foreign:
        raise DemoRefused(
            f"schema {schema!r} already has {', '.join(target.foreign)}, not created by "
            "katarestore demo: refusing to drop or change them"
        )
    tables = [sql.Identifier(schema, t) for t in TABLES if t in target.demo_made]
    types = [sql.Identifier(schema, t) for t in DEMO_TYPES if t in target.demo_made]
    try:
        with conn.transaction():  # a savepoint: the refusal leaves the caller's state alone
            if tables:
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.SQL(", ").join(tables)))
            if types:
                conn.execute(sql.SQL("DROP TYPE {}").format(sql.SQL(", ").join(types)))
    except psycopg.errors.DependentObjectsStillExist as exc:
        detail = (exc.diag.message_detail or "").replace("\n", "; ")
        raise DemoRefused(
            f"objects not created by katarestore demo depend on its tables ({detail}): "
            "refusing to drop them; drop or move those objects first"
        ) from None


# ---------------------------------------------------------------- writing


def write_demo_backup(
    root: Path,
    rows: int = 2000,
    bad_records: bool = True,
    seed: int = 7,
    name: str | None = None,
) -> DemoBackup:
    """Write `root/<name>/<table>.json` for every table; `name` defaults to now, YYYYMMDD_HHMMSS.

    A default name that is already taken moves on by a second, so two quick calls
    never mix their files.
    """
    started = time.perf_counter()
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if name is None:
        moment = dt.datetime.now().replace(microsecond=0)
        while (root / moment.strftime("%Y%m%d_%H%M%S")).exists():
            moment += dt.timedelta(seconds=1)
        name = moment.strftime("%Y%m%d_%H%M%S")
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)

    sizes = DemoSizes.for_rows(rows)
    gen = _Generator(sizes, seed)
    bad = _plan_bad_records(gen) if bad_records else {}

    counts: dict[str, int] = {}
    expected: dict[str, dict[str, int]] = {}
    described: list[BadRecord] = []
    written = 0
    for table in TABLES:
        good = sizes.as_dict()[table]
        extra = bad.get(table, [])
        records, placed = _with_bad_records(gen.records(table), good, extra)
        n, size = _write_json_array(folder / f"{table}.json", records)
        counts[table] = n
        written += size
        duplicates = sum(1 for b in placed if b.outcome == "duplicate")
        failed = sum(1 for b in placed if b.outcome == "failed")
        expected[table] = {
            "records": n,
            "loaded": n - duplicates - failed,
            "duplicates": duplicates,
            "failed": failed,
        }
        described.extend(placed)
    return DemoBackup(
        path=folder,
        rows_per_table=counts,
        expected=expected,
        bad_records=tuple(described),
        bytes_written=written,
        seconds=time.perf_counter() - started,
    )


@dataclass
class _PlannedBad:
    kind: str
    outcome: str
    detail: str
    text: Callable[[], str]  # formatted lazily: the duplicate's text exists only later
    slot: int = 0  # inserted before this many good records
    meta: dict[str, Any] = field(default_factory=dict)


def _with_bad_records(
    good: Iterator[str], n_good: int, bad: list[_PlannedBad]
) -> tuple[Iterator[str], list[BadRecord]]:
    """Interleave bad records into the good ones, spread over the middle of the file."""
    placed: list[BadRecord] = []
    for k, b in enumerate(bad):
        b.slot = max(b.slot, (k + 1) * n_good // (len(bad) + 1))
    bad = sorted(bad, key=lambda b: b.slot)
    for k, b in enumerate(bad):
        placed.append(BadRecord(b.meta["table"], b.slot + k, b.kind, b.outcome, b.detail))

    def merged() -> Iterator[str]:
        pending = iter(bad)
        nxt = next(pending, None)
        for i, text in enumerate(good):
            while nxt is not None and nxt.slot == i:
                yield nxt.text()
                nxt = next(pending, None)
            yield text
        while nxt is not None:
            yield nxt.text()
            nxt = next(pending, None)

    return merged(), placed


def _write_json_array(path: Path, records: Iterable[str]) -> tuple[int, int]:
    """Stream pre-formatted records into `[\\n rec,\\n rec\\n]`; write-then-rename."""
    tmp = path.with_name(path.name + ".tmp")
    n = 0
    size = 0
    chunk: list[str] = []
    with open(tmp, "w", encoding="utf-8", newline="\n", buffering=1 << 20) as f:
        f.write("[")
        for rec in records:
            chunk.append(rec)
            if len(chunk) == 2000:
                text = ("\n" if n == 0 else ",\n") + ",\n".join(chunk)
                f.write(text)
                n += len(chunk)
                chunk = []
        if chunk:
            f.write(("\n" if n == 0 else ",\n") + ",\n".join(chunk))
            n += len(chunk)
        f.write("\n]" if n else "]")
        size = f.tell()
    os.replace(tmp, path)
    return n, size


# ---------------------------------------------------------------- formatting helpers


def _pretty(value: Any, indent: str) -> str:
    """`JSON.stringify(value, null, 2)` for a value whose line starts at `indent`."""
    if isinstance(value, str):
        return _q(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        body = ",\n".join(f"{inner}{_q(k)}: {_pretty(v, inner)}" for k, v in value.items())
        return "{\n" + body + "\n" + indent + "}"
    if isinstance(value, (list, tuple)):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(inner + _pretty(v, inner) for v in value) + "\n" + indent + "]"
    raise TypeError(f"not JSON: {type(value).__name__}")


def _record(obj: dict[str, Any]) -> str:
    """A whole record as an element of the top-level array (2 spaces in)."""
    return "  " + _pretty(obj, "  ")


def _dec(hundredths: int) -> str:
    """A Decimal as decimal.js prints it: 1250 -> "12.5", 4900 -> "49", 1999 -> "19.99"."""
    units, rest = divmod(hundredths, 100)
    if rest == 0:
        return f'"{units}"'
    if rest % 10 == 0:
        return f'"{units}.{rest // 10}"'
    return f'"{units}.{rest:02d}"'


_EPOCH = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)
_DAYS = [(_EPOCH + dt.timedelta(days=d)).strftime("%Y-%m-%d") for d in range(3 * 366)]
_DAY_MS = 86_400_000


def _iso(ms: int) -> str:
    """Milliseconds after 2022-01-01 as JSON "YYYY-MM-DDTHH:MM:SS.mmmZ" (Date.toJSON)."""
    day, rest = divmod(ms, _DAY_MS)
    hour, rest = divmod(rest, 3_600_000)
    minute, rest = divmod(rest, 60_000)
    sec, milli = divmod(rest, 1000)
    return f'"{_DAYS[day]}T{hour:02d}:{minute:02d}:{sec:02d}.{milli:03d}Z"'


_M48 = (1 << 48) - 1


class _Ids:
    """Version-4-looking UUIDs derived from an index: unique per index, no table kept."""

    def __init__(self, rng: random.Random) -> None:
        self.prefix = [
            f"{rng.getrandbits(32):08x}-{rng.getrandbits(16):04x}-4{rng.getrandbits(12):03x}-"
            f"{8 + rng.getrandbits(2):x}{rng.getrandbits(12):03x}-"
            for _ in range(4096)
        ]

    def __call__(self, i: int) -> str:
        # odd multipliers and an xor-shift are bijections on 48 bits: no two indexes collide
        x = (i * 0x9E3779B97F4B) & _M48
        x ^= x >> 24
        return self.prefix[i & 4095] + "%012x" % ((x * 0xD6E8FEB86659) & _M48)


# ---------------------------------------------------------------- the data

_FIRST = [
    ("Amélie", "amelie"), ("Bruno", "bruno"), ("Chloé", "chloe"), ("Dmitri", "dmitri"),
    ("Elif", "elif"), ("François", "francois"), ("Grace", "grace"), ("Hiroshi", "hiroshi"),
    ("Inès", "ines"), ("João", "joao"), ("Kwame", "kwame"), ("Łukasz", "lukasz"),
    ("María José", "mariajose"), ("Nadia", "nadia"), ("Olúwaseun", "oluwaseun"),
    ("Priya", "priya"), ("Quentin", "quentin"), ("Rania", "rania"), ("Søren", "soren"),
    ("Thảo", "thao"), ("Uma", "uma"), ("Viktor", "viktor"), ("Wei", "wei"), ("Zoë", "zoe"),
]
_LAST = [
    ("Müller", "muller"), ("O'Brien", "obrien"), ("García", "garcia"), ("Nguyễn", "nguyen"),
    ("Kowalski", "kowalski"), ("Dubois", "dubois"), ("Okafor", "okafor"), ("Smith", "smith"),
    ("Yılmaz", "yilmaz"), ("Tanaka", "tanaka"), ("Rossi", "rossi"), ("Andersson", "andersson"),
    ("van der Berg", "vanderberg"), ("Haddad", "haddad"), ("Petrov", "petrov"),
    ("D'Angelo", "dangelo"), ("李", "li"), ("Fernández", "fernandez"),
]
_DOMAINS = ["gmail.com", "outlook.com", "katacore.io", "uni-lyon.fr", "proton.me", "yahoo.co.jp"]
_TAGS = [
    "python", "javascript", "data, science", "c++", 'say "hi"', "{braces}", "back\\slash",
    "naïve-bayes", "beginner", "ops & sre", "日本語", "NULL", "",
]
_LOCALES = ["en-US", "fr-FR", "pt-BR", "de-DE", "ja-JP", "tr-TR", "vi-VN", "pl-PL"]
_TZ = ["Europe/Paris", "America/Sao_Paulo", "Asia/Tokyo", "UTC", "Africa/Lagos"]
_BIOS = [
    "Développeuse back-end, j'adore PostgreSQL 🐘",
    'Learning to code after 10 years as a "data" analyst.',
    "Teacher.\nLoves chess ♟ and long walks.",
    "Path on my laptop: C:\\Users\\me\\projects",
    "Tab\tseparated\tthoughts",
    "",
]
_TOPICS = [
    "Introducción a Python", "SQL for Analysts", "Advanced TypeScript", "Docker & Kubernetes",
    "Machine Learning Basics", "Rust: Ownership et Lifetimes", "Data Visualisation",
    "Web Security 101", "Prisma + PostgreSQL", "Go Concurrency", "Statistiques appliquées",
    "UX Writing", "日本語で学ぶ Git",
]
_LEVELS = ["Beginner", "Intermediate", "Advanced", "Masterclass", "Bootcamp"]
_LESSON_TITLES = [
    "Welcome & setup", "Variables and types", "Control flow", "Functions", "Working with files",
    "Errors, exceptions & \"gotchas\"", "Testing", "Packaging", "Performance", "Final project",
]
_PARAGRAPHS = [
    "In this lesson we cover the basics.\nRead each section, then try the exercise.",
    'Run:\n\n\tpip install requests\n\nthen print("héllo\\tworld") and check the output.',
    "Windows paths need escaping: C:\\Users\\student\\notes.txt — or use raw strings r'…'.",
    "Tip 💡: the quote character \" must be escaped in JSON, the apostrophe ' need not.",
    "Σ(x²) / n — formulas render as text; emoji 🎉 and CJK 漢字 are plain UTF-8.",
    "Checklist:\n- [x] watch the video\n- [ ] do the quiz\n- [ ] post in the forum",
    "Tabs\tand\ttrailing spaces   \nare kept exactly.",
]
_DEVICES = ["desktop", "mobile", "tablet"]
_CHOICES = ["a", "b", "c", "d"]
_FREE_TEXT = [
    "Because the index is used",
    'It prints "None"',
    "O(n log n)",
    "Use a transaction\nthen COMMIT",
    "Je ne sais pas 🤷",
]

_USER = (
    '  {\n    "id": "%s",\n    "email": %s,\n    "name": %s,\n    "role": "%s",\n'
    '    "createdAt": %s,\n    "profile": %s,\n    "tags": %s\n  }'
)
_COURSE = (
    '  {\n    "id": %d,\n    "title": %s,\n    "slug": %s,\n    "price": %s,\n'
    '    "published": %s,\n    "instructorId": "%s",\n    "createdAt": %s\n  }'
)
_LESSON = (
    '  {\n    "id": %d,\n    "courseId": %d,\n    "position": %d,\n    "title": %s,\n'
    '    "content": %s,\n    "durationMinutes": %s\n  }'
)
_ENROLLMENT = (
    '  {\n    "id": "%d",\n    "userId": "%s",\n    "courseId": %d,\n    "enrolledAt": %s,\n'
    '    "progress": %s\n  }'
)
_PROGRESS = (
    '  {\n    "id": "%s",\n    "enrollmentId": "%d",\n    "lessonId": %d,\n    "completed": %s,\n'
    '    "score": %s,\n    "completedAt": %s,\n    "data": %s\n  }'
)
_PROGRESS_DATA = (
    '{\n      "timeSpentSec": %d,\n      "device": "%s",\n      "attempts": %d\n    }'
)
_QUIZ = (
    '  {\n    "id": "%d",\n    "userId": "%s",\n    "lessonId": %d,\n    "answers": [\n%s\n    ],\n'
    '    "score": %s,\n    "attemptedAt": %s,\n    "attachment": %s\n  }'
)
_ANSWER_CHOICE = (
    '      {\n        "questionId": %d,\n        "choice": [\n%s\n        ],\n'
    '        "correct": %s\n      }'
)
_ANSWER_TEXT = '      {\n        "questionId": %d,\n        "text": %s,\n        "correct": %s\n      }'
_CHOICE_LINES = {
    c: f'          "{c}"' for c in _CHOICES
}

_SPAN_2Y = 2 * 365 * _DAY_MS


class _Generator:
    """Formats the records of each table; FK targets are computed from indexes, not stored."""

    def __init__(self, sizes: DemoSizes, seed: int) -> None:
        self.sizes = sizes
        self.seed = seed
        self.user_id = _Ids(random.Random(f"{seed}:users:ids"))
        self.progress_id = _Ids(random.Random(f"{seed}:lesson_progress:ids"))
        self.user_text: dict[int, str] = {}  # the few records a bad one repeats
        self.keep_user = -1

    def rng(self, table: str) -> random.Random:
        return random.Random(f"{self.seed}:{table}")

    def records(self, table: str) -> Iterator[str]:
        return getattr(self, f"_{table}")()

    # enrollment e (0-based) = user e % U on course (e // U + e % U) % C: unique pairs
    def enrollment_course(self, e: int) -> int:
        users = self.sizes.users
        return (e // users + e % users) % self.sizes.courses + 1

    def _users(self) -> Iterator[str]:
        rng = self.rng("users")
        rnd = rng.random
        uid = self.user_id
        for i in range(self.sizes.users):
            first, first_a = _FIRST[int(rnd() * len(_FIRST))]
            last, last_a = _LAST[int(rnd() * len(_LAST))]
            email = f"{first_a}.{last_a}{i}@{_DOMAINS[int(rnd() * len(_DOMAINS))]}"
            role = "INSTRUCTOR" if i % 12 == 0 else "ADMIN" if i % 97 == 1 else "STUDENT"
            profile: dict[str, Any] | None = None
            if rnd() < 0.75:
                profile = {
                    "bio": _BIOS[int(rnd() * len(_BIOS))],
                    "locale": _LOCALES[int(rnd() * len(_LOCALES))],
                    "timezone": _TZ[int(rnd() * len(_TZ))],
                }
                if rnd() < 0.5:
                    profile["social"] = {"github": f"{first_a}{last_a}", "website": None}
                if rnd() < 0.5:
                    steps = ["welcome", "profile", "first-course"][: int(rnd() * 4)]
                    profile["onboarding"] = {"completed": len(steps) == 3, "steps": steps}
            tags = rng.sample(_TAGS, int(rnd() * 4))
            text = _USER % (
                uid(i),
                _q(email),
                _q(f"{first} {last}"),
                role,
                _iso(int(rnd() * _SPAN_2Y)),
                _pretty(profile, "    "),
                _pretty(tags, "    "),
            )
            if i == self.keep_user:
                self.user_text[i] = text
            yield text

    def _courses(self) -> Iterator[str]:
        rng = self.rng("courses")
        rnd = rng.random
        instructors = self.sizes.users // 12  # users 0, 12, 24... are INSTRUCTORs
        for c in range(1, self.sizes.courses + 1):
            title = f"{_TOPICS[c % len(_TOPICS)]} — {_LEVELS[(c // len(_TOPICS)) % 5]}"
            if c > len(_TOPICS) * 5:
                title += f" ({c})"
            if c == self.sizes.courses:  # exactly varchar(200), in characters not bytes
                title = (title + " " + "é" * 200)[:200]
            words = "".join(ch if ch.isalnum() else "-" for ch in title[:30].lower())
            slug = f"course-{c}-{words.strip('-')}"
            price = 0 if rnd() < 0.2 else [999, 1250, 1999, 2900, 4900, 7999, 12000][
                int(rnd() * 7)
            ]
            instructor = 12 * ((c * 7919) % instructors)
            yield _COURSE % (
                c,
                _q(title),
                _q(slug),
                _dec(price),
                "true" if rnd() < 0.8 else "false",
                self.user_id(instructor),
                _iso(int(rnd() * _SPAN_2Y)),
            )

    def _lessons(self) -> Iterator[str]:
        rng = self.rng("lessons")
        rnd = rng.random
        for lesson in range(1, self.sizes.lessons + 1):
            course = (lesson - 1) // LESSONS_PER_COURSE + 1
            position = (lesson - 1) % LESSONS_PER_COURSE + 1
            parts = [_PARAGRAPHS[int(rnd() * len(_PARAGRAPHS))] for _ in range(1 + int(rnd() * 4))]
            content = f"# {_LESSON_TITLES[position - 1]}\n\n" + "\n\n".join(parts)
            duration = "null" if rnd() < 0.1 else str(3 + int(rnd() * 88))
            yield _LESSON % (
                lesson, course, position, _q(f"{position}. {_LESSON_TITLES[position - 1]}"),
                _q(content), duration,
            )

    def _enrollments(self) -> Iterator[str]:
        rnd = self.rng("enrollments").random
        users = self.sizes.users
        uid = self.user_id
        for e in range(self.sizes.enrollments):
            yield _ENROLLMENT % (
                e + 1,
                uid(e % users),
                self.enrollment_course(e),
                _iso(int(rnd() * _SPAN_2Y)),
                _dec(int(rnd() * 10001)),
            )

    def _lesson_progress(self) -> Iterator[str]:
        rng = self.rng("lesson_progress")
        rnd = rng.random
        pid = self.progress_id
        n_enr = self.sizes.enrollments
        users = self.sizes.users
        courses = self.sizes.courses
        for j in range(self.sizes.lesson_progress):
            e = j % n_enr
            course = (e // users + e % users) % courses + 1
            lesson = (course - 1) * LESSONS_PER_COURSE + (j // n_enr) % LESSONS_PER_COURSE + 1
            r = rnd()
            if r < 0.7:
                completed = "true"
                done_at = _iso(int(rnd() * _SPAN_2Y))
                if j % 50 == 7:  # numeric without scale keeps every digit: no float on the way
                    score = '"66.66666666666666666667"'
                elif r < 0.55:
                    score = _dec(int(rnd() * 1000) * 10)  # one decimal: "87.5", "90"
                else:
                    score = "null"
            else:
                completed = "false"
                done_at = "null"
                score = "null"
            r = rnd()
            if r < 0.9:
                data = _PROGRESS_DATA % (
                    int(rnd() * 3600), _DEVICES[int(rnd() * 3)], 1 + int(rnd() * 3)
                )
            elif r < 0.97:
                data = _pretty(
                    {
                        "timeSpentSec": int(rnd() * 3600),
                        "device": _DEVICES[int(rnd() * 3)],
                        "bookmarks": [int(rnd() * 600) for _ in range(int(rnd() * 4))],
                        "video": {"watched": round(rnd(), 2), "speed": 1.5},
                    },
                    "    ",
                )
            else:
                data = "{}"
            yield _PROGRESS % (pid(j), e + 1, lesson, completed, score, done_at, data)

    def _quiz_attempts(self) -> Iterator[str]:
        rng = self.rng("quiz_attempts")
        rnd = rng.random
        uid = self.user_id
        n_enr = self.sizes.enrollments
        users = self.sizes.users
        for q in range(1, self.sizes.quiz_attempts + 1):
            e = int(rnd() * n_enr)  # a user answers quizzes of a course they are enrolled in
            course = self.enrollment_course(e)
            lesson = (course - 1) * LESSONS_PER_COURSE + int(rnd() * LESSONS_PER_COURSE) + 1
            answers = []
            for question in range(1, 2 + int(rnd() * 3)):
                correct = "true" if rnd() < 0.6 else "false"
                if rnd() < 0.8:
                    picked = _CHOICES[: 1 + int(rnd() * 2)] if rnd() < 0.3 else [
                        _CHOICES[int(rnd() * 4)]
                    ]
                    lines = ",\n".join(_CHOICE_LINES[c] for c in picked)
                    answers.append(_ANSWER_CHOICE % (question, lines, correct))
                else:
                    text = _q(_FREE_TEXT[int(rnd() * len(_FREE_TEXT))])
                    answers.append(_ANSWER_TEXT % (question, text, correct))
            if rnd() < 0.04:
                data = [int(rnd() * 256) for _ in range(4 + int(rnd() * 12))]
                attachment = _pretty({"type": "Buffer", "data": data}, "    ")
            else:
                attachment = "null"
            yield _QUIZ % (
                q,
                uid(e % users),
                lesson,
                ",\n".join(answers),
                _dec(int(rnd() * 10001)),
                _iso(int(rnd() * _SPAN_2Y)),
                attachment,
            )


def _plan_bad_records(gen: _Generator) -> dict[str, list[_PlannedBad]]:
    """The deliberately bad records, each an extra row that no good row references."""
    s = gen.sizes
    dup = min(3, s.users - 1)
    gen.keep_user = dup
    orphan_enrollment = s.enrollments + 1000
    plans: dict[str, list[_PlannedBad]] = {
        "users": [
            _PlannedBad(
                "duplicate", "duplicate", f"users record {dup} again, identical",
                lambda: gen.user_text[dup], slot=dup + 1,
            ),
            _PlannedBad(
                "too long", "failed", "email of 300 characters in varchar(255)",
                lambda: _record(
                    {
                        "id": gen.user_id(s.users + 1),
                        "email": "x" * 288 + "@example.com",
                        "name": "Too Long",
                        "role": "STUDENT",
                        "createdAt": "2024-01-01T00:00:00.000Z",
                        "profile": None,
                        "tags": [],
                    }
                ),
            ),
        ],
        "courses": [
            _PlannedBad(
                "too long", "failed", "title of 201 characters in varchar(200)",
                lambda: _record(
                    {
                        "id": s.courses + 1,
                        "title": "ü" * 201,
                        "slug": "too-long-title",
                        "price": "10",
                        "published": False,
                        "instructorId": gen.user_id(0),
                        "createdAt": "2024-01-01T00:00:00.000Z",
                    }
                ),
            ),
        ],
        "lessons": [
            _PlannedBad(
                "wrong type", "failed", 'position "abc" in an integer column',
                lambda: _record(
                    {
                        "id": s.lessons + 1,
                        "courseId": 1,
                        "position": "abc",
                        "title": "Bonus",
                        "content": "extra",
                        "durationMinutes": 5,
                    }
                ),
            ),
            _PlannedBad(
                "NUL in text", "failed", "content holds \\u0000, which text cannot store",
                lambda: _record(
                    {
                        "id": s.lessons + 2,
                        "courseId": 1,
                        "position": 11,
                        "title": "Binary paste",
                        "content": "pasted from a PDF:\u0000\u0000 oops",
                        "durationMinutes": None,
                    }
                ),
            ),
        ],
        "enrollments": [
            _PlannedBad(
                "missing value", "failed", "userId null in a NOT NULL column",
                lambda: _record(
                    {
                        "id": str(s.enrollments + 1),
                        "userId": None,
                        "courseId": 1,
                        "enrolledAt": "2024-01-01T00:00:00.000Z",
                        "progress": "0",
                    }
                ),
            ),
        ],
        "lesson_progress": [
            _PlannedBad(
                "orphan", "failed", f"enrollmentId {orphan_enrollment} does not exist",
                lambda: _record(
                    {
                        "id": gen.progress_id(s.lesson_progress + 1),
                        "enrollmentId": str(orphan_enrollment),
                        "lessonId": 1,
                        "completed": True,
                        "score": "50",
                        "completedAt": "2024-01-01T00:00:00.000Z",
                        "data": {},
                    }
                ),
            ),
        ],
        "quiz_attempts": [
            _PlannedBad(
                "wrong type", "failed", "attemptedAt 2024-02-30T25:61 is not a time",
                lambda: _record(
                    {
                        "id": str(s.quiz_attempts + 1),
                        "userId": gen.user_id(0),
                        "lessonId": 1,
                        "answers": [],
                        "score": "0",
                        "attemptedAt": "2024-02-30T25:61:00.000Z",
                        "attachment": None,
                    }
                ),
            ),
        ],
    }
    for table, items in plans.items():
        for b in items:
            b.meta["table"] = table
    return plans
