"""Keys (application tokens, user keys) shortened for logs, storage and pages: never in full."""

import hashlib
import re
from urllib.parse import unquote

SECRET_IN_TEXT = re.compile(r"((?:token|user)=)([^&\s\"]*)|([A-Za-z0-9]{30})")


def mask(key):
    """A key shortened for display and storage: its first 4 characters and an ellipsis.
    Comma-joined lists are masked key by key; short or odd values become just the ellipsis."""
    if not isinstance(key, str) or not key:
        return ""
    if key.endswith("…") and len(key) <= 5:
        return key  # already masked (a log line of a masked path is masked again)
    if "," in key:
        return ",".join(mask(k) for k in key.split(","))
    return key[:4] + "…" if len(key) >= 12 else "…"


def mask_text(text):
    """Masks `token=`/`user=` values and every 30-character key-like word in a log line."""
    def repl(m):
        if m.group(3):
            return mask(m.group(3))
        return m.group(1) + mask(unquote(m.group(2)))
    return SECRET_IN_TEXT.sub(repl, text)


def token_id(token):
    """What a receipt keeps of the token that created it: a hash, never the token."""
    return hashlib.sha256(("pushover-local:" + token).encode()).hexdigest()[:24]
