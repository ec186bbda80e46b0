"""Keep passwords out of everything a person or a file can see."""

from __future__ import annotations

import re
from urllib.parse import unquote

from psycopg.conninfo import conninfo_to_dict, make_conninfo

MASK = "****"

# user:password@ up to the last '@' on the line before any query string: a password written
# without percent-encoding may hold '@', '/' or spaces (libpq refuses the spaces, but echoes
# the URL's words back)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^\n?]*)(?P<tail>@)", re.I)
# password=value; an unquoted value with spaces (a typo libpq refuses, echoing its words)
# runs on to the next key= word
_KV_PASSWORD = re.compile(
    r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+(?:\s+(?![\w.-]+\s*=)[^\s=]+)*)", re.I
)
MIN_SECRET = 3  # shorter fragments are not scrubbed from free text (they would mangle it)


def redact_dsn(dsn: str | None) -> str:
    """A DSN (URL or key=value form) with any password replaced by ****."""
    if not dsn:
        return ""
    try:
        params = conninfo_to_dict(dsn)
    except Exception:
        return redact_text(dsn, secrets_of(dsn))
    if "password" not in params or "://" in dsn:
        return redact_text(dsn, secrets_of(dsn))
    params["password"] = MASK
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def describe_dsn(dsn: str) -> str:
    """user@host:port/db for the operator (no password); the masked DSN when it cannot be parsed."""
    try:
        params = conninfo_to_dict(dsn)
    except Exception:
        return redact_dsn(dsn)
    user = str(params.get("user") or "")
    host = str(params.get("host") or params.get("hostaddr") or "local socket")
    port = str(params.get("port") or "")
    dbname = str(params.get("dbname") or user)
    if params.get("service") and "host" not in params:
        host = f"service {params['service']}"
    return (f"{user}@" if user else "") + host + (f":{port}" if port and port != "5432" else "") \
        + f"/{dbname}"


def redact_text(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask passwords inside free text such as an exception message."""
    text = _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['tail']}", text)
    text = _KV_PASSWORD.sub(lambda m: f"{m['head']}{MASK}", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    return text


def password_of(dsn: str | None) -> str | None:
    """The password carried by a DSN, so it can be scrubbed from any message."""
    if not dsn:
        return None
    try:
        return conninfo_to_dict(dsn).get("password")  # type: ignore[return-value]
    except Exception:
        return None


def secrets_of(dsn: str | None) -> tuple[str, ...]:
    """Every form in which a DSN's password could be echoed back, longest first.

    libpq quotes parts of a DSN it cannot parse (`invalid percent-encoded token: "..."`,
    `missing "=" after "..."`, a host name cut at the password's '@'), so the password as
    written, decoded, and its pieces are all scrubbed from messages, not only the parsed one.
    """
    if not dsn:
        return ()
    found: set[str] = set()
    parsed = password_of(dsn)
    if parsed:
        found.add(parsed)
    written = [m["pw"] for m in _URL_PASSWORD.finditer(dsn)]
    written += [m["pw"].strip("'") for m in _KV_PASSWORD.finditer(dsn)]
    for text in written:
        for form in (text, unquote(text)):
            found.add(form)
            found.update(re.split(r"[@\s]+", form))
    return tuple(sorted((f for f in found if len(f) >= MIN_SECRET), key=len, reverse=True))
