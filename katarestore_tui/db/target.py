"""Which database a run writes to, and where that choice came from: one resolver for both faces.

Order (first that applies): --dsn; $DATABASE_URL; DATABASE_URL in ./.env, then ./prisma/.env
(where Prisma reads it); any libpq connection variable (PGHOST, PGSERVICE, ...: libpq's own
list), through libpq's defaults; else the embedded server. The operator is always told which.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from katarestore_tui.db.embedded import embedded_dsn

EMBEDDED_DATABASE = "katarestore"
# where Prisma reads DATABASE_URL from, relative to the current folder, in this order
DOTENV_FILES = (Path(".env"), Path("prisma/.env"))
# libpq reads these from the environment itself: never copied into a DSN that is kept
SECRET_KEYWORDS = frozenset({"password", "sslpassword", "oauth_client_secret"})
PROBE_TIMEOUT = 5  # seconds to learn the effective host and database of libpq's defaults

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
    # "--dsn", "$DATABASE_URL", "DATABASE_URL in ./.env", "PGHOST, PGDATABASE" or "embedded"
    source: str
    description: str = ""  # embedded: its folder and port; otherwise user@host:port/db, masked
    schema: str | None = None  # the chosen URL's ?schema= (Prisma), if it has one

    def line(self) -> str:
        """"target: root@db.example:5432/app (from DATABASE_URL in ./prisma/.env)"."""
        if self.source == "embedded":
            return f"target: {self.description} (no --dsn, no DATABASE_URL, no PG* variable)"
        return f"target: {self.description} (from {self.source})"


def resolve_target(dsn: str | None) -> Target:
    """The one resolver both faces use; raises when the embedded server cannot start."""
    raw, source = choose_dsn(dsn)
    if raw is not None:
        from katarestore_tui.redact import describe_dsn

        fixed = libpq_dsn(raw)
        return Target(fixed, source, describe_dsn(fixed), prisma_schema(raw))
    if source != "embedded":
        return Target(libpq_env_dsn(), source, describe_libpq_defaults())
    from katarestore_tui.db.embedded_status import describe_embedded

    resolved = embedded_dsn(database=EMBEDDED_DATABASE)
    return Target(resolved, source, describe_embedded())


def resolve_dsn(dsn: str | None) -> tuple[str, str]:
    """(dsn, source) without the description."""
    raw, source = choose_dsn(dsn)
    if raw is not None:
        return libpq_dsn(raw), source
    if source != "embedded":
        return libpq_env_dsn(), source
    return embedded_dsn(database=EMBEDDED_DATABASE), source


def choose_dsn(dsn: str | None) -> tuple[str | None, str]:
    """(the URL or conninfo as written, source); None for libpq's defaults or the embedded server.

    Nothing starts here: the embedded server is started by resolve_target / resolve_dsn.
    """
    if dsn and dsn.strip():
        return dsn.strip(), "--dsn"
    env = os.environ.get("DATABASE_URL", "").strip()
    if env:
        return env, "$DATABASE_URL"
    for path in DOTENV_FILES:
        found = dotenv_database_url(path)
        if found:
            return found, f"DATABASE_URL in ./{path}"
    names = libpq_variables_set()
    if names:
        return None, ", ".join(names)
    return None, "embedded"


def dotenv_database_url(path: Path) -> str | None:
    """DATABASE_URL as a `.env` file sets it (quotes, `export`, `${VAR}` as dotenv reads them)."""
    if not path.is_file():
        return None
    from dotenv import dotenv_values

    value = dotenv_values(path).get("DATABASE_URL")
    return value.strip() if value and value.strip() else None


@cache
def libpq_variables() -> tuple[str, ...]:
    """Every environment variable libpq reads as a connection setting (PGHOST, PGSERVICE, ...),
    from libpq itself (PQconndefaults), so a new libpq's variables count without a change here."""
    from psycopg import pq

    return tuple(o.envvar.decode() for o in pq.Conninfo.get_defaults() if o.envvar)


def libpq_variables_set() -> list[str]:
    """The libpq connection variables set (non-empty) in this environment, sorted by name."""
    return sorted(name for name in libpq_variables() if os.environ.get(name, "").strip())


def libpq_env_dsn() -> str:
    """The PG* variables as a conninfo string: what libpq's defaults are, written out so that
    history, messages and a retry name the target. Secrets stay in the environment, where
    libpq reads them at each connect; they are never copied into the string."""
    from psycopg import pq
    from psycopg.conninfo import make_conninfo

    params = {}
    for option in pq.Conninfo.get_defaults():
        keyword = option.keyword.decode()
        value = os.environ.get(option.envvar.decode(), "").strip() if option.envvar else ""
        if value and keyword not in SECRET_KEYWORDS:
            params[keyword] = value
    return make_conninfo(**params)


def describe_libpq_defaults() -> str:
    """user@host:port/db that libpq's defaults reach, learnt by connecting (a service file or
    a socket folder is resolved by libpq only); without a connection, the variables' values."""
    import psycopg

    try:
        with psycopg.connect(libpq_env_dsn(), connect_timeout=PROBE_TIMEOUT) as conn:
            info = conn.info
            return _where(info.user, info.host, str(info.port), info.dbname)
    except psycopg.Error:
        from psycopg import pq

        values = {o.keyword.decode(): (o.val or b"").decode() for o in pq.Conninfo.get_defaults()}
        service = values.get("service") or os.environ.get("PGSERVICE", "")
        if service and not values.get("host"):
            return f"service {service} (not reachable yet)"
        return _where(values.get("user", ""), values.get("host") or "local socket",
                      values.get("port", ""), values.get("dbname") or values.get("user", "")) \
            + " (not reachable yet)"


def _where(user: str, host: str, port: str, dbname: str) -> str:
    head = f"{user}@" if user else ""
    port = f":{port}" if port and port != "5432" else ""
    return f"{head}{host}{port}/{dbname}"


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
    """The schema the chosen target names (`?schema=` of --dsn, $DATABASE_URL or a .env's).

    Same precedence as resolve_target: it is the default for --schema, since a Prisma URL
    means its tables live there, while the URL libpq gets has lost the parameter.
    """
    raw, _source = choose_dsn(dsn)
    return prisma_schema(raw) if raw else None


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
