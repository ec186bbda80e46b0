"""The demo's schema as `prisma migrate` writes it, and creating it marked as the demo's own."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

from katarestore_tui.demo.sizes import TABLES
from katarestore_tui.demo.target import DEMO_MARK, DEMO_TYPES, drop_demo_objects

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
            drop_demo_objects(conn, schema)
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
