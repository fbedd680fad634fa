"""The server's token: a random secret made on the first start and kept in the user's config
folder (readable by the user alone), or read from a file the operator names."""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from sketchpad.errors import SketchpadError
from sketchpad.paths import user_config_dir

TOKEN_FILE_NAME = "server-token"
MIN_TOKEN_LENGTH = 16
MAX_TOKEN_LENGTH = 512


def default_token_path() -> Path:
    return user_config_dir() / TOKEN_FILE_NAME


def read_token(path: Path) -> str:
    """The token in `path` (surrounding whitespace ignored); SketchpadError when it is absent,
    unreadable or too short to be a secret."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SketchpadError(f"cannot read the token file {path} ({exc})") from None
    if not MIN_TOKEN_LENGTH <= len(text) <= MAX_TOKEN_LENGTH or not text.isprintable():
        raise SketchpadError(
            f"the token in {path} must be {MIN_TOKEN_LENGTH}..{MAX_TOKEN_LENGTH} printable "
            "characters; delete the file to have a new one made"
        )
    return text


def load_or_create_token(path: Path | None = None) -> tuple[str, bool]:
    """(token, made now). With no `path`, the user's token, made (and stored with mode 0600)
    on the first call."""
    if path is not None:
        return read_token(path), False
    path = default_token_path()
    if path.exists():
        return read_token(path), False
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    return token, True


def token_matches(presented: str | None, token: str) -> bool:
    """Constant-time comparison, so that response times do not leak the token."""
    if not presented:
        return False
    return hmac.compare_digest(presented.encode(), token.encode())


def token_from_options(token: str | None, token_file: str | None) -> str:
    """A client's token from `--token` or `--token-file` (the file wins)."""
    from sketchpad.errors import UsageError

    if token_file:
        return read_token(Path(token_file))
    if token:
        return token
    raise UsageError("--server needs --token or --token-file")
