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

The package, one job a module: `sizes` (how many rows each table gets), `schema` (the SQL
and its creation), `target` (what a target already holds, and dropping only what the demo
made), `stringify` (values as `JSON.stringify` prints them), `words` (the vocabulary),
`data` (the good records of each table), `bad` (the deliberately bad ones and where they
go) and `backup` (writing the files). Callers import from here.
"""

from katarestore_tui.demo.backup import DemoBackup, write_demo_backup
from katarestore_tui.demo.bad import BadRecord
from katarestore_tui.demo.schema import DEMO_SCHEMA_SQL, create_demo_schema
from katarestore_tui.demo.sizes import LESSONS_PER_COURSE, TABLES, DemoSizes
from katarestore_tui.demo.target import (
    DEMO_MARK,
    DEMO_TYPES,
    DemoRefused,
    DemoTarget,
    inspect_demo_target,
)

__all__ = [
    "DEMO_MARK",
    "DEMO_SCHEMA_SQL",
    "DEMO_TYPES",
    "LESSONS_PER_COURSE",
    "TABLES",
    "BadRecord",
    "DemoBackup",
    "DemoRefused",
    "DemoSizes",
    "DemoTarget",
    "create_demo_schema",
    "inspect_demo_target",
    "write_demo_backup",
]
