"""What the server keeps: messages (one JSON file each, the image beside it), glances,
receipts of emergency messages, and the monthly quota; all on an injected clock.

Keys are stored masked. Choices where SPEC.md leaves room:

* A cancelled receipt reports `expired: 1` plus the extra fields `canceled: 1` and
  `canceled_at`. `last_delivered_at` simulates a re-alert every `retry` seconds (at most 50)
  until acknowledgement, cancellation or expiry. No callback is ever requested: when a receipt
  with a `callback` is acknowledged, `called_back`/`called_back_at` are set as if it had been.
  A receipt is only visible to the application token that created it (kept as a hash).
* `acknowledged_by` is the full user key while the server runs, masked after a restart.
* Quota: counted in memory from `quota` at each start, reset at the start of each UTC month.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import secrets
import string
import threading
import time
from pathlib import Path

from .masking import mask, token_id

RECEIPT_LIFETIME = 7 * 24 * 3600
MAX_REALERTS = 50
RECORD_NAME = re.compile(r"[0-9]{6,}-[0-9a-f]{8}\.json")
GLANCE_NAME = re.compile(r"g[0-9]{6,}-[0-9a-f]{8}\.json")
ALNUM = string.ascii_letters + string.digits
EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
              "image/webp": ".webp", "image/bmp": ".bmp", "image/heic": ".heic"}


class ReceiptNotFound(LookupError):
    """Unknown receipt, another application's, or older than a week."""


def next_month(now):
    """The Unix time of the first second of the UTC month after `now`."""
    d = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    year, month = (d.year + 1, 1) if d.month == 12 else (d.year, d.month + 1)
    return int(datetime.datetime(year, month, 1, tzinfo=datetime.timezone.utc).timestamp())


def write_json(path, data):
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True), "utf-8")
    os.replace(tmp, path)


def alert_state(r, now):
    """An emergency receipt's state word and its re-alerts so far (the first delivery is 0)."""
    end = min(x for x in (now, r["expires_at"], r["acknowledged_at"] or now,
                          r["canceled_at"] or now))
    alerts = min(MAX_REALERTS, max(0, end - r["created_at"]) // max(1, r["retry"]))
    state = ("acknowledged" if r["acknowledged"] else "cancelled" if r["canceled"]
             else "expired" if now >= r["expires_at"] else "alerting")
    return state, alerts


class Store:
    """Thread-safe. `clock()` gives the Unix time (time.time, or a test's fake)."""

    def __init__(self, data_dir, quota=10000, devices=("phone",), clock=time.time, log=None):
        self.data_dir = Path(data_dir)
        self.messages_dir = self.data_dir / "messages"
        self.glances_dir = self.data_dir / "glances"
        self.quota = int(quota)
        self.devices = tuple(devices)
        self.clock = clock
        self.log = log or (lambda line: None)
        self._lock = threading.RLock()
        self._messages = []
        self._glances = []
        self._receipts = {}  # receipt -> message dict
        self._full_users = {}  # receipt -> full user keys (memory only)
        self._acked_by = {}  # receipt -> full key of the acknowledging user (memory only)
        self._attachments = {}  # stored file name -> content type
        self._seq = 0
        self._remaining = self.quota
        self._reset = next_month(clock())

    # ---- quota

    def reset_quota(self):
        with self._lock:
            self._remaining = self.quota
            self._reset = next_month(self.clock())

    def quota_state(self):
        """(limit, remaining, reset as Unix time)."""
        with self._lock:
            now = self.clock()
            if now >= self._reset:
                self._remaining = self.quota
                self._reset = next_month(now)
            return self.quota, self._remaining, self._reset

    def limit_headers(self):
        limit, remaining, reset = self.quota_state()
        return [("X-Limit-App-Limit", str(limit)), ("X-Limit-App-Remaining", str(remaining)),
                ("X-Limit-App-Reset", str(reset))]

    def take_quota(self):
        with self._lock:
            self.quota_state()
            if self._remaining <= 0:
                return False
            self._remaining -= 1
            return True

    # ---- messages and glances

    def load(self):
        """Reads what an earlier run kept in the data folder (and creates the folders)."""
        self.messages_dir.mkdir(parents=True, exist_ok=True)
        self.glances_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self._messages, self._glances, self._receipts, self._attachments = [], [], {}, {}
            for p in self.messages_dir.glob(".upload-*.part"):  # left by older versions
                p.unlink(missing_ok=True)
            for folder, out, name in ((self.messages_dir, self._messages, RECORD_NAME),
                                      (self.glances_dir, self._glances, GLANCE_NAME)):
                for p in folder.glob("*.json"):
                    if not name.fullmatch(p.name):
                        continue  # not a record (e.g. an attachment of an older version)
                    try:
                        rec = json.loads(p.read_text("utf-8"))
                        int(rec["seq"])
                    except (OSError, ValueError, KeyError, TypeError):
                        self.log("skipping unreadable %s" % p.name)
                        continue
                    out.append(rec)
                    self._seq = max(self._seq, int(rec["seq"]))
            for rec in self._messages:
                if rec.get("receipt"):
                    self._receipts[rec["receipt"]["receipt"]] = rec
                if rec.get("attachment"):
                    self._attachments[rec["attachment"]["stored_as"]] = \
                        rec["attachment"]["content_type"]
            self._messages.sort(key=lambda r: r["seq"], reverse=True)
            self._glances.sort(key=lambda r: r["seq"], reverse=True)

    def add_message(self, f, attachment, encoding, request_id, transport, emergency=False,
                    decrypted=None):
        """Keeps an accepted message; `attachment` is None or (mime, bytes, filename);
        `decrypted`: {field: e2e.Decrypted} of an end-to-end encrypted one, kept as "e2e"
        (field -> {"ok", "text" or "reason"}) for the inbox.
        Returns the receipt (emergency) or None."""
        now = self.clock()
        with self._lock:
            self._seq += 1
            seq = self._seq
        mid = "%06d-%s" % (seq, secrets.token_hex(4))
        fields = dict(f)
        fields["token"] = mask(f.get("token", ""))
        fields["user"] = mask(f.get("user", ""))
        if "attachment_base64" in fields:
            fields["attachment_base64"] = "(%d Base64 characters, saved as the attachment)" % len(
                f["attachment_base64"])
        record = {"id": mid, "seq": seq, "request": request_id, "received_at": int(now),
                  "received_at_iso": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
                  "token": fields["token"], "user": fields["user"], "encoding": encoding,
                  "fields": fields, "attachment": None, "receipt": None, "transport": transport}
        if decrypted:
            record["e2e"] = {name: ({"ok": True, "text": d.text} if d.ok else
                                    {"ok": False, "reason": d.reason})
                             for name, d in decrypted.items()}
        if attachment is not None:
            ctype, data, filename = attachment
            ext = os.path.splitext(filename or "")[1].lower()
            if not re.fullmatch(r"\.[a-z0-9]{1,8}", ext) or ext in (".json", ".tmp", ".part"):
                # never a name that load() would take for a message record
                ext = EXTENSIONS.get(ctype, ".img")
            stored = mid + "-attachment" + ext
            (self.messages_dir / stored).write_bytes(data)
            record["attachment"] = {"filename": filename, "content_type": ctype,
                                    "size": len(data),
                                    "sha256": hashlib.sha256(data).hexdigest(),
                                    "stored_as": stored, "url": "/inbox/attachments/" + stored}
        receipt = None
        if emergency:
            receipt = "".join(secrets.choice(ALNUM) for _ in range(30))
            tags = [t.strip() for t in f.get("tags", "").split(",") if t.strip()]
            record["receipt"] = {
                "receipt": receipt, "app": token_id(f["token"]), "retry": int(f["retry"]),
                "expire": int(f["expire"]), "expires_at": int(now) + int(f["expire"]),
                "created_at": int(now), "tags": tags, "callback": f.get("callback", ""),
                "acknowledged": 0, "acknowledged_at": 0, "acknowledged_by": "",
                "acknowledged_by_device": "", "canceled": 0, "canceled_at": 0}
        with self._lock:
            write_json(self.messages_dir / (mid + ".json"), record)
            self._messages.insert(0, record)
            if receipt:
                self._receipts[receipt] = record
                self._full_users[receipt] = f["user"].split(",")
            if record["attachment"]:
                self._attachments[record["attachment"]["stored_as"]] = \
                    record["attachment"]["content_type"]
        return receipt

    def add_glance(self, f, request_id):
        now = self.clock()
        with self._lock:
            self._seq += 1
            seq = self._seq
            gid = "g%06d-%s" % (seq, secrets.token_hex(4))
            fields = dict(f, token=mask(f.get("token", "")), user=mask(f.get("user", "")))
            record = {"id": gid, "seq": seq, "request": request_id, "received_at": int(now),
                      "fields": fields}
            write_json(self.glances_dir / (gid + ".json"), record)
            self._glances.insert(0, record)

    def attachment_file(self, name):
        """(path, content type) of a stored attachment, or None."""
        with self._lock:
            ctype = self._attachments.get(name)
        if ctype is None:
            return None
        return self.messages_dir / name, ctype

    def messages(self):
        """Every stored message, newest first (copies: dicts as in the JSON files)."""
        with self._lock:
            return json.loads(json.dumps(self._messages))

    def glances(self):
        with self._lock:
            return json.loads(json.dumps(self._glances))

    # ---- receipts

    def _find_receipt(self, receipt, token=None):
        with self._lock:
            rec = self._receipts.get(receipt)
        if rec is None or (token is not None and rec["receipt"]["app"] != token_id(token)) \
                or self.clock() > rec["receipt"]["created_at"] + RECEIPT_LIFETIME:
            raise ReceiptNotFound(receipt)
        return rec

    def _public_state(self, receipt, r):
        now = int(self.clock())
        _, alerts = alert_state(r, now)
        acked_by = self._acked_by.get(receipt, r["acknowledged_by"])
        called = 1 if r["acknowledged"] and r["callback"] else 0
        state = {
            "acknowledged": r["acknowledged"], "acknowledged_at": r["acknowledged_at"],
            "acknowledged_by": acked_by, "acknowledged_by_device": r["acknowledged_by_device"],
            "last_delivered_at": r["created_at"] + alerts * r["retry"],
            "expired": 1 if (now >= r["expires_at"] or r["canceled"]) else 0,
            "expires_at": r["expires_at"], "called_back": called,
            "called_back_at": r["acknowledged_at"] if called else 0,
        }
        if r["canceled"]:
            state.update(canceled=1, canceled_at=r["canceled_at"])
        return state

    def receipt_state(self, receipt, token):
        """As GET receipts/{receipt}.json shows it. ReceiptNotFound."""
        rec = self._find_receipt(receipt, token)
        with self._lock:
            return self._public_state(receipt, rec["receipt"])

    def _save(self, rec):
        write_json(self.messages_dir / (rec["id"] + ".json"), rec)

    def _open(self, r):
        return not (r["canceled"] or r["acknowledged"] or self.clock() >= r["expires_at"])

    def cancel(self, receipt, token):
        """Stops the re-alerts of one receipt. ReceiptNotFound."""
        rec = self._find_receipt(receipt, token)
        with self._lock:
            r = rec["receipt"]
            if self._open(r):
                r["canceled"], r["canceled_at"] = 1, int(self.clock())
                self._save(rec)

    def cancel_by_tag(self, tag, token):
        """Cancels the open receipts of this token with `tag`; returns how many."""
        app = token_id(token)
        count = 0
        with self._lock:
            for rec in self._receipts.values():
                r = rec["receipt"]
                if r["app"] == app and tag in r["tags"] and self._open(r):
                    r["canceled"], r["canceled_at"] = 1, int(self.clock())
                    self._save(rec)
                    count += 1
        return count

    def acknowledge(self, receipt, user=None, device=None):
        """A person acknowledging an emergency-priority message. Returns the receipt's state
        (as `GET /1/receipts/{receipt}.json` would show it). KeyError: unknown receipt;
        ValueError: it expired or was cancelled. Acknowledging twice changes nothing."""
        with self._lock:
            rec = self._receipts.get(receipt)
            if rec is None:
                raise KeyError(receipt)
            r = rec["receipt"]
            if not r["acknowledged"]:
                if r["canceled"]:
                    raise ValueError("receipt was cancelled")
                if self.clock() >= r["expires_at"]:
                    raise ValueError("receipt has expired")
                if user is None:
                    users = self._full_users.get(receipt)
                    user = users[0] if users else rec["user"].split(",")[0]
                r["acknowledged"], r["acknowledged_at"] = 1, int(self.clock())
                self._acked_by[receipt] = user
                r["acknowledged_by"] = mask(user)
                r["acknowledged_by_device"] = device or self.devices[0]
                self._save(rec)
            return self._public_state(receipt, r)

    def acknowledge_message(self, message_id):
        """acknowledge() by the id of the stored emergency message (the inbox's button, which
        shows receipts masked). KeyError: no such message, or not an emergency."""
        with self._lock:
            receipt = next((m["receipt"]["receipt"] for m in self._messages
                            if m["id"] == message_id and m.get("receipt")), None)
        if receipt is None:
            raise KeyError(message_id)
        return self.acknowledge(receipt)
