"""Keep passwords out of everything a person or a file can see."""

from __future__ import annotations

import re

from psycopg.conninfo import conninfo_to_dict, make_conninfo

MASK = "****"

_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?P<tail>@)", re.I)
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'(?:[^'\\]|\\.)*'|\S+)", re.I)


def redact_dsn(dsn: str | None) -> str:
    """A DSN (URL or key=value form) with any password replaced by ****."""
    if not dsn:
        return ""
    try:
        params = conninfo_to_dict(dsn)
    except Exception:
        return redact_text(dsn)
    if "password" not in params:
        return redact_text(dsn)
    if "://" in dsn:
        return redact_text(dsn)
    params["password"] = MASK
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})


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
