"""The inbox page: each message as a phone shows it, newest first, updated without a reload.

* `html=1`: the subset Pushover renders (`<b>`, `<i>`, `<u>`, `<font color>`, `<a href>`) is
  rendered; every other tag is shown as text. Otherwise all of the message is text.
* `monospace=1`: a monospace block. Line breaks are kept either way.
* The title, or the application's name (here: its masked token) when there is none; the URL
  as a link with its `url_title`; `timestamp` as the message's time (else its arrival); the
  priority and the sound; for an emergency, its state (re-alerts so far, expiry,
  acknowledged by and when) and an Acknowledge button; the image.
* The page loads /inbox/live.js, which polls /inbox/list.html every 2 s and swaps the list in
  when it changed. A Content-Security-Policy allows only this script, so a `<script>` that
  got through would not run either.
"""

from __future__ import annotations

import html
import re
import time
from html.parser import HTMLParser
from urllib.parse import quote

from .masking import mask
from .store import alert_state

PAGE_CSP = ("default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; "
            "script-src 'self'; connect-src 'self'; form-action 'self'")
POLL_MS = 2000
LIVE_JS = """\
// Swaps in the message list when it changed: new messages appear without a reload.
(function () {
  var list = document.getElementById("list");
  function poll() {
    fetch("/inbox/list.html", {cache: "no-store"}).then(function (r) {
      return r.ok ? r.text() : null;
    }).then(function (text) {
      if (text !== null && text !== list.innerHTML) { list.innerHTML = text; }
    }).catch(function () {}).then(function () { setTimeout(poll, %d); });
  }
  setTimeout(poll, %d);
})();
""" % (POLL_MS, POLL_MS)

PRIORITY_NAMES = {-2: "lowest", -1: "low", 0: "normal", 1: "high", 2: "emergency"}
COLOR_RE = re.compile(r"#[0-9A-Fa-f]{3}|#[0-9A-Fa-f]{6}|[A-Za-z]{1,20}")
UNSAFE_SCHEMES = ("javascript:", "vbscript:", "data:")

STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2em;background:#f4f4f6;color:#222}"
    ".m{background:#fff;border-radius:8px;padding:1em;margin:0 0 1em;max-width:40em;"
    "box-shadow:0 1px 3px #0002}.top{display:flex;justify-content:space-between;gap:1em}"
    ".t{font-weight:600;font-size:1.1em}.app{color:#555}.when{color:#666;font-size:.85em}"
    ".b{white-space:pre-wrap;margin:.5em 0;overflow-wrap:anywhere}"
    ".mono{font-family:ui-monospace,monospace;white-space:pre-wrap}"
    ".meta{color:#666;font-size:.85em}.url{margin:.3em 0}.e2e{color:#2a6;font-size:.85em}"
    ".tag{display:inline-block;background:#eee;border-radius:4px;padding:0 .4em;margin-right:.3em}"
    ".alert{margin:.5em 0;padding:.4em .6em;border-radius:4px;background:#fee}"
    ".alert.acknowledged{background:#efe}.alert.cancelled,.alert.expired{background:#eee}"
    "table{border-collapse:collapse;font-size:.85em}td{padding:1px 8px 1px 0;"
    "vertical-align:top}img{max-width:480px;max-height:360px;display:block;"
    "margin-top:.5em;border-radius:4px}.p2{border-left:6px solid #c00}"
    ".p1{border-left:6px solid #e80}.p-1,.p-2{opacity:.8}")


class _Subset(HTMLParser):
    """Renders Pushover's HTML subset; any other markup comes out as escaped text."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.open = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("b", "i", "u"):
            self._open(tag, "<%s>" % tag)
        elif tag == "font" and COLOR_RE.fullmatch(attrs.get("color") or ""):
            self._open(tag, "<font color='%s'>" % attrs["color"])
        elif tag == "a" and _safe_href(attrs.get("href")):
            self._open(tag, "<a href='%s' rel='noopener noreferrer'>"
                       % html.escape(attrs["href"]))
        else:
            self.out.append(html.escape(self.get_starttag_text() or ""))

    def handle_startendtag(self, tag, attrs):
        self.out.append(html.escape(self.get_starttag_text() or ""))

    def handle_endtag(self, tag):
        if tag in self.open:
            while self.open:
                t = self.open.pop()
                self.out.append("</%s>" % t)
                if t == tag:
                    break
        else:
            self.out.append(html.escape("</%s>" % tag))

    def handle_data(self, data):
        self.out.append(html.escape(data))

    def handle_comment(self, data):
        self.out.append(html.escape("<!--%s-->" % data))

    def handle_decl(self, decl):
        self.out.append(html.escape("<!%s>" % decl))

    def handle_pi(self, data):
        self.out.append(html.escape("<?%s>" % data))

    def unknown_decl(self, data):
        self.out.append(html.escape("<![%s]>" % data))

    def _open(self, tag, text):
        self.open.append(tag)
        self.out.append(text)

    def result(self):
        self.close()
        self.out.extend("</%s>" % t for t in reversed(self.open))
        self.open = []
        return "".join(self.out)


def _safe_href(href):
    h = re.sub(r"[\s\x00-\x1f]", "", href or "").lower()
    return bool(h) and not h.startswith(UNSAFE_SCHEMES)


def render_html_subset(text):
    """A message sent with html=1, as HTML for the page."""
    p = _Subset()
    p.feed(text)
    return p.result()


def _utc(t):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def _int(v, default=0):
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def _flag(v):
    return (v or "").strip().lower() in ("1", "true")


def _readable(m):
    """The fields as the phone shows them: an end-to-end encrypted field the server could read
    by its plaintext, one it could not by a note saying why; and that note's lines."""
    f = dict(m["fields"])
    notes = []
    for name, got in (m.get("e2e") or {}).items():
        if got["ok"]:
            f[name] = got["text"]
        else:
            f[name] = "[end-to-end encrypted: cannot read (%s)]" % got["reason"]
            notes.append("%s: cannot read (%s)" % (name, got["reason"]))
    return f, notes


def _message(m, now):
    e = html.escape
    f, unreadable = _readable(m)
    pri = _int(f.get("priority"))
    out = ["<div class='m p%d' id='%s'>" % (pri, e(m["id"]))]
    title = f.get("title")
    head = ("<span class='t'>%s</span>" % e(title) if title else
            "<span class='t app'>%s</span>" % e("App " + (m.get("token") or "")))
    if "timestamp" in f:
        when, how = _int(f["timestamp"]), "sent with timestamp; arrived %s" % _utc(
            m["received_at"])
    else:
        when, how = m["received_at"], "arrival time"
    out.append("<div class='top'>%s<span class='when' title='%s'>%s</span></div>" % (
        head, e(how), e(_utc(when))))
    if m.get("e2e"):
        out.append("<div class='e2e'>&#128274; end-to-end encrypted%s</div>" % (
            ": " + e("; ".join(unreadable)) if unreadable else ", read with the server's key"))
    text = f.get("message", "")
    if _flag(f.get("html")):
        out.append("<div class='b html'>%s</div>" % render_html_subset(text))
    elif _flag(f.get("monospace")):
        out.append("<div class='b mono'>%s</div>" % e(text))
    else:
        out.append("<div class='b'>%s</div>" % e(text))
    url = f.get("url")
    if url:
        label = e(f.get("url_title") or url)
        if _safe_href(url):
            out.append("<div class='url'><a href='%s' rel='noopener noreferrer'>%s</a></div>"
                       % (e(url), label))
        else:
            out.append("<div class='url'>%s</div>" % label)
    a = m.get("attachment")
    if a:
        out.append("<img src='%s' alt='%s'>" % (e(a["url"]), e(a["filename"] or "")))
    tags = ["priority %d (%s)" % (pri, PRIORITY_NAMES.get(pri, "?")),
            "sound: %s" % (f.get("sound") or "default")]
    if f.get("device"):
        tags.append("to device: %s" % f["device"])
    if f.get("ttl") and pri != 2:
        tags.append("ttl %s s" % f["ttl"])
    out.append("<div class='meta'>%s</div>" % "".join(
        "<span class='tag'>%s</span>" % e(t) for t in tags))
    r = m.get("receipt")
    if r:
        state, alerts = alert_state(r, int(now))
        lines = ["emergency: <b>%s</b>" % state,
                 "re-alerts so far: %d (every %d s)" % (alerts, r["retry"]),
                 "expires %s" % e(_utc(r["expires_at"]))]
        if r["acknowledged"]:
            lines.append("acknowledged by %s on %s at %s" % (
                e(r["acknowledged_by"]), e(r["acknowledged_by_device"]),
                e(_utc(r["acknowledged_at"]))))
        if r["canceled"]:
            lines.append("cancelled at %s" % e(_utc(r["canceled_at"])))
        lines.append("receipt %s" % e(mask(r["receipt"])))
        out.append("<div class='alert %s'>%s</div>" % (state, "<br>".join(lines)))
        if state == "alerting":  # as the person's phone would
            out.append("<form method='post' action='/_control/ack-message/%s'>"
                       "<button>Acknowledge</button></form>" % e(quote(m["id"])))
    out.append("<details><summary class='meta'>%s &middot; %s &middot; request %s</summary>"
               "<table>" % (e(m["received_at_iso"]), e(m["encoding"]), e(m["request"])))
    for k in sorted(f):
        if k not in ("title", "message"):
            out.append("<tr><td>%s</td><td>%s</td></tr>" % (e(k), e(str(f[k]))))
    if a:
        out.append("<tr><td>attachment</td><td>%s, %s, %d bytes</td></tr>" % (
            e(a["filename"] or "(base64)"), e(a["content_type"]), a["size"]))
    out.append("</table></details></div>")
    return "".join(out)


def message_list(store):
    """The part of the page that changes: every message and glance (the script swaps it)."""
    msgs = store.messages()
    glances = store.glances()
    now = store.clock()
    out = ["<p class='meta'>%d message(s), newest first. Keys are shown masked.</p>" % len(msgs)]
    out += [_message(m, now) for m in msgs]
    if glances:
        out.append("<h2>Glances</h2>")
        for g in glances:
            out.append("<div class='m'><table>%s</table></div>" % "".join(
                "<tr><td>%s</td><td>%s</td></tr>" % (html.escape(k), html.escape(str(v)))
                for k, v in sorted(g["fields"].items())))
    return "".join(out)


def page(store, api_url):
    return ("<!doctype html><html><head><meta charset='utf-8'>"
            "<title>Local Pushover inbox</title><style>%s</style></head><body>"
            "<h1>Local Pushover inbox</h1><p class='meta'>API: <code>%s</code></p>"
            "<div id='list'>%s</div><script src='/inbox/live.js'></script></body></html>\n"
            % (STYLE, html.escape(api_url), message_list(store)))
