"""Which database a run writes to: --dsn, else $DATABASE_URL, else the embedded server."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from katarestore_tui.db.embedded import embedded_dsn

EMBEDDED_DATABASE = "katarestore"

# Query parameters Prisma accepts in DATABASE_URL that libpq rejects
# ("invalid URI query parameter"); `schema` is turned into a search_path instead.
PRISMA_ONLY_PARAMS = frozenset(
    {
        "schema",
        "connection_limit",
        "pool_timeout",
        "socket_timeout",
        "pgbouncer",
        "statement_cache_size",
        "sslidentity",
        "sslaccept",
        "max_connection_lifetime",
        "max_idle_connection_lifetime",
    }
)


@dataclass(frozen=True)
class Target:
    """The database a run writes to, and where that choice came from (shown to the operator)."""

    dsn: str
    source: str  # "--dsn", "$DATABASE_URL" or "embedded"
    description: str = ""  # for the embedded server: its data folder and port


def resolve_target(dsn: str | None) -> Target:
    """The one resolver both faces use; raises when the embedded server cannot start."""
    resolved, source = resolve_dsn(dsn)
    description = ""
    if source == "embedded":
        from katarestore_tui.db.embedded_status import describe_embedded

        description = describe_embedded()
    return Target(resolved, source, description)


def resolve_dsn(dsn: str | None) -> tuple[str, str]:
    """(dsn, source): source is "--dsn", "$DATABASE_URL" or "embedded", for the UI and logs."""
    if dsn and dsn.strip():
        return libpq_dsn(dsn.strip()), "--dsn"
    env = os.environ.get("DATABASE_URL", "").strip()
    if env:
        return libpq_dsn(env), "$DATABASE_URL"
    return embedded_dsn(database=EMBEDDED_DATABASE), "embedded"


def libpq_dsn(dsn: str) -> str:
    """A Prisma DATABASE_URL made acceptable to libpq; any other DSN is returned unchanged.

    Katacore's .env holds URLs like `postgresql://u:p@host/db?schema=app&connection_limit=5`:
    libpq refuses Prisma's parameters, and `schema` means the tables live in `app`, so it
    becomes `options=-c search_path=app` (unless the URL already sets options).
    """
    if "://" not in dsn:
        return dsn
    parts = urlsplit(dsn)
    if not parts.query:
        return dsn
    params = parse_qsl(parts.query, keep_blank_values=True)
    if not any(key in PRISMA_ONLY_PARAMS for key, _ in params):
        return dsn
    schema = next((value for key, value in params if key == "schema"), "")
    kept = [(key, value) for key, value in params if key not in PRISMA_ONLY_PARAMS]
    if schema and not any(key == "options" for key, _ in kept):
        kept.append(("options", f"-c search_path={_options_ident(schema)}"))
    return urlunsplit(parts._replace(query=urlencode(kept, quote_via=quote)))


def url_schema(dsn: str | None) -> str | None:
    """The schema the chosen target names (`?schema=` of --dsn, else of $DATABASE_URL).

    Same precedence as resolve_dsn: it is the default for --schema, since a Prisma URL
    means its tables live there, while the URL libpq gets has lost the parameter.
    """
    if dsn and dsn.strip():
        return prisma_schema(dsn.strip())
    env = os.environ.get("DATABASE_URL", "").strip()
    return prisma_schema(env) if env else None


def prisma_schema(dsn: str) -> str | None:
    """The schema a Prisma URL names with `?schema=`, or None (then it is `public`)."""
    if "://" not in dsn:
        return None
    for key, value in parse_qsl(urlsplit(dsn).query, keep_blank_values=True):
        if key == "schema" and value:
            return value
    return None


def _options_ident(name: str) -> str:
    """A schema name as one word inside libpq `options` (quoted, spaces escaped)."""
    ident = name if name.isidentifier() and name == name.lower() else '"' + name.replace('"', '""') + '"'
    return ident.replace("\\", "\\\\").replace(" ", "\\ ")
