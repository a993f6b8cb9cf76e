"""A local, Pushover-compatible HTTP server for development and tests (host only).

It speaks the API of SPEC.md sections 1, 2 and 4 under `/1/` as the real Pushover does for
the clients people use (checked with pushover-complete, Apprise and the curl examples of
Pushover's FAQ in tests/test_server_clients.py), keeps the messages it accepts in a data folder
(one JSON file per message, the attachment next to it, application tokens and user keys
masked), shows them at `/` (an HTML inbox that updates itself) and `/inbox.json`, and can
misbehave on request ("fault modes") so a client's handling of dropped connections, 5xx, 429,
slow, chunked, keep-alive, invalid and oversized replies can be tested.

One module per job:

    rules.py    the API's rules as plain functions (fields in, errors out; no HTTP)
    store.py    messages, glances, receipts and the quota, on an injected clock
    httpd.py    HTTP framing: body decoding (python-multipart), routing, replies, faults
    inbox.py    the inbox page, each message shown as a phone would
    server.py   PushoverServer: start/stop, a time bound, fault settings, what it saw
    cli.py      the command line

Python:

    from localpushover import PushoverServer
    with PushoverServer(port=0, data_dir=tmp) as srv:
        ...  # srv.api_url, srv.messages(), srv.set_fault("500"), srv.acknowledge(receipt)

A person acknowledges an emergency (priority 2) alert as a phone would: with the Acknowledge
button next to it in the inbox, or with the receipt the send returned (`result.receipt`):
`POST /_control/ack/<receipt>`, an optional JSON body `{"user": .., "device": ..}`; e.g.
`curl -X POST http://127.0.0.1:8765/_control/ack/<receipt>`.

Command line:

    python -m localpushover [--host 127.0.0.1] [--port 8765] [--data DIR] [--token T ...]
        [--user U ...] [--quota N] [--fault MODE [--fault-count N]] [--max-seconds N]
        [--slow-seconds S] [--verbose]

Fault modes (`fault=`, `--fault`, `set_fault()`, `POST /_control/fault {"mode":..,"count":..}`,
or for a single request the path prefix `/fault/<mode>/1/...`); they apply to API requests under
`/1/` only:

    drop_mid_body  read part of the request body (half, at most 64 KiB), then close the
                   connection without a reply
    500            read the body, reply 500 (an HTML body, as a front end would); nothing stored
    503            read the body, reply 503 (JSON, Retry-After: 5); nothing stored
    429            read the body, reply 429 quota exceeded (X-Limit-App-Remaining: 0); nothing stored
    slow           handle the request (the message IS stored), then wait `slow_seconds` (default
                   10 s, cut short when the server stops) before replying
    chunked        handle the request, reply with Transfer-Encoding: chunked (several chunks)
    keepalive      handle the request, reply with Content-Length and Connection: keep-alive and
                   keep the connection open even if the client asked to close it (HTTP/1.0 or
                   Connection: close)
    invalid_json   handle the request (stored), reply 200 with a text/html, non-JSON body
    oversized      handle the request (stored), reply 200 with a 1 MiB (1,048,576 byte) JSON body
    no_reply       read the whole body, then close without answering; nothing stored

Where SPEC.md leaves room, each module's docstring says what this server chose.
"""

from .cli import main
from .httpd import FAULT_MODES, MAX_BODY, MAX_SMALL_BODY, MAX_TEXT_BODY
from .masking import mask, mask_text
from .rules import MAX_ATTACHMENT, SOUNDS
from .server import PushoverServer, is_loopback

__all__ = ["PushoverServer", "FAULT_MODES", "SOUNDS", "MAX_ATTACHMENT", "MAX_BODY",
           "MAX_TEXT_BODY", "MAX_SMALL_BODY", "mask", "mask_text", "is_loopback", "main"]
