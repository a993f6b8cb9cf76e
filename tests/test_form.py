"""Bodies: whatever the field values, a real parser gives back exactly the input, and the
announced Content-Length equals the bytes produced. Memory does not grow with the attachment."""

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from urllib3 import encode_multipart_formdata

from bodies import body_of, parse_multipart, parse_urlencoded
from pushover import FieldError, Pushover, PushoverError
from pushover.attach import safe_filename
from pushover.form import Form

TOKEN = "aToken0123456789abcdefghijKLMN"
USER = "uUser0123456789abcdefghijKLMNO"
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 3

# any text the API accepts: every code point but lone surrogates, with the awkward ones common
text = st.text(
    alphabet=st.one_of(st.sampled_from("&=%+ \"'\r\n\t;:/?#[]@!$()*,é€😀\0"),
                       st.characters(blacklist_categories=("Cs",))),
    max_size=80,
)
message = text.filter(lambda s: s.strip())


def expected_pairs(msg, title, url):
    pairs = [("token", TOKEN), ("user", USER), ("message", msg)]
    if title:
        pairs.append(("title", title))
    if url:
        pairs.append(("url", url))
    return pairs


def kwargs_of(title, url):
    return {k: v for k, v in (("title", title), ("url", url)) if v}


@settings(max_examples=300, deadline=None)
@given(msg=message, title=text, url=text, bufsize=st.integers(64, 300))
def test_urlencoded_round_trip(msg, title, url, bufsize):
    po = Pushover(TOKEN, USER, bufsize=bufsize)
    form = po.form(msg, **kwargs_of(title, url))
    body = body_of(form)
    assert form.content_type == "application/x-www-form-urlencoded"
    assert len(body) == form.length
    assert parse_urlencoded(body) == expected_pairs(msg, title, url)


@settings(max_examples=300, deadline=None)
@given(msg=message, title=text, bufsize=st.integers(64, 2048))
def test_a_text_body_that_fits_its_buffer_is_one_chunk(msg, title, bufsize):
    """One write for a short message (one TCP segment, one TLS record on a board), whatever
    the escapes at its end; a longer one fills every chunk but the last."""
    po = Pushover(TOKEN, USER, bufsize=bufsize)
    form = po.form(msg, **kwargs_of(title, None))
    chunks = [bytes(c) for c in form.chunks()]
    if form.length <= bufsize - 2:
        assert len(chunks) == 1, (form.length, [len(c) for c in chunks])
    else:  # a chunk is flushed only when the next name or escape does not fit
        assert all(len(c) > bufsize - len("&message=") for c in chunks[:-1]), (
            bufsize, [len(c) for c in chunks])
    assert b"".join(chunks) == body_of(form)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msg=message, title=text, url=text, image=st.binary(max_size=3000),
       name=text, bufsize=st.integers(64, 300))
def test_multipart_round_trip(msg, title, url, image, name, bufsize):
    po = Pushover(TOKEN, USER, bufsize=bufsize)
    form = po.form(msg, attachment=image, attachment_type="image/png", attachment_name=name or None,
                   **kwargs_of(title, url))
    body = body_of(form)
    assert len(body) == form.length
    parts = parse_multipart(form.content_type, body)
    assert {k: v.decode() for k, (_, v) in parts.items() if k != "attachment"} == dict(
        expected_pairs(msg, title, url))
    headers, data = parts["attachment"]
    assert data == image
    assert headers["content-type"] == "image/png"
    assert "\r" not in headers["content-disposition"] and "\n" not in headers["content-disposition"]


@settings(max_examples=100, deadline=None)
@given(image=st.binary(max_size=2000), bufsize=st.integers(64, 200))
def test_base64_round_trip(image, bufsize):
    import base64

    po = Pushover(TOKEN, USER, bufsize=bufsize)
    form = po.form("hi", attachment_base64=image, attachment_type="image/jpeg")
    body = body_of(form)
    assert len(body) == form.length
    parts = parse_multipart(form.content_type, body)
    assert base64.b64decode(parts["attachment_base64"][1], validate=True) == image
    assert parts["attachment_type"][1] == b"image/jpeg"
    assert "attachment" not in parts


def test_multipart_matches_urllib3_byte_for_byte():
    po = Pushover(TOKEN, USER)
    form = po.form("Tür offen & 50% + \"x\"", title="Garage\r\nX", attachment=JPEG,
                   attachment_name="cam.jpg", boundary="fixedBOUNDARY123")
    reference, content_type = encode_multipart_formdata(
        [("token", TOKEN), ("user", USER), ("message", "Tür offen & 50% + \"x\""),
         ("title", "Garage\r\nX"), ("attachment", ("cam.jpg", JPEG, "image/jpeg"))],
        boundary="fixedBOUNDARY123")
    assert body_of(form) == reference
    assert form.content_type == content_type


def test_boundary_is_random_per_request_and_not_in_values():
    po = Pushover(TOKEN, USER)
    boundaries = {po.form("hi", attachment=JPEG).boundary for _ in range(20)}
    assert len(boundaries) == 20
    with pytest.raises(ValueError):
        po.form("contains XYZ", attachment=JPEG, boundary="XYZ")


@pytest.mark.parametrize("name,safe", [
    ('evil".jpg', "evil_.jpg"),
    ("a\r\nContent-Type: text/html", "a__Content-Type__text_html"),
    ("..\\..\\x.jpg", ".._.._x.jpg"),
    ("", "image"),
    ("ünï.png", "_n_.png"),
])
def test_filename_cannot_inject(name, safe):
    assert safe_filename(name) == safe


def test_filename_from_path_and_default(tmp_path):
    po = Pushover(TOKEN, USER)
    path = tmp_path / "photo 1.jpg"
    path.write_bytes(JPEG)
    parts = parse_multipart(*_ct_body(po.form("hi", attachment=str(path))))
    assert 'filename="photo_1.jpg"' in parts["attachment"][0]["content-disposition"]
    parts = parse_multipart(*_ct_body(po.form("hi", attachment=JPEG)))
    assert 'filename="image.jpg"' in parts["attachment"][0]["content-disposition"]


def _ct_body(form):
    return form.content_type, body_of(form)


def test_file_and_stream_sources_give_the_same_body(tmp_path):
    path = tmp_path / "a.jpg"
    path.write_bytes(JPEG)
    po = Pushover(TOKEN, USER, bufsize=100)
    bodies = [body_of(po.form("hi", attachment=src, boundary="B0", attachment_name="a.jpg"))
              for src in (str(path), JPEG, bytearray(JPEG), io.BytesIO(JPEG))]
    assert len(set(bodies)) == 1


class _ReadOnly:
    """A stream with read(n) only (no readinto), seekable or not."""

    def __init__(self, data, seekable=True):
        self.f = io.BytesIO(data)
        if seekable:
            self.tell, self.seek = self.f.tell, self.f.seek

    def read(self, n=-1):
        return self.f.read(n)


class _IntoOnly:
    """A stream with readinto() only and no seek (a socket, a camera driver)."""

    def __init__(self, data):
        self.f = io.BytesIO(data)

    def readinto(self, buf):
        return self.f.readinto(buf)


@pytest.mark.parametrize("field", ["attachment", "attachment_base64"])
@pytest.mark.parametrize("kind", ["read-seekable", "read-no-seek", "readinto-no-seek",
                                  "offset"])
def test_every_kind_of_stream_gives_the_body_of_the_bytes(kind, field):
    data = JPEG
    extra = {"attachment_type": "image/jpeg"}
    if kind == "read-seekable":
        src = _ReadOnly(data)
    elif kind == "read-no-seek":
        src, extra["attachment_size"] = _ReadOnly(data, False), len(data)
    elif kind == "readinto-no-seek":
        src, extra["attachment_size"] = _IntoOnly(data), len(data)
    else:  # a stream positioned past a header of its own: the attachment starts there
        src = io.BytesIO(b"HEADER" + data)
        src.seek(6)
    po = Pushover(TOKEN, USER, bufsize=100)
    form = po.form("hi", boundary="B0", **{field: src}, **extra)
    want = po.form("hi", boundary="B0", **{field: data}, **extra)
    body = body_of(form)
    assert len(body) == form.length
    assert body == body_of(want)
    # one that can seek is sent again from where it started; one that cannot says so
    assert form.restartable == (kind in ("read-seekable", "offset"))
    if form.restartable:
        assert body_of(form) == body


def test_a_stream_that_cannot_seek_is_not_replayed_on_a_new_connection():
    from pushover.errors import TemporaryError
    from pushover.sock import check_replay

    form = Pushover(TOKEN, USER).form("hi", attachment=_IntoOnly(JPEG),
                                      attachment_size=len(JPEG), attachment_type="image/jpeg")
    with pytest.raises(TemporaryError):
        check_replay(form)
    check_replay(Pushover(TOKEN, USER).form("hi", attachment=JPEG))  # a buffer can be


@pytest.mark.parametrize("text_after", [False, True])
def test_one_buffer_is_made_by_the_first_attachment_and_lent_to_one_form_at_a_time(text_after):
    """The first send with an attachment makes the Pushover's one bufsize buffer and lends it
    to its form; a form made while that one is out gets its own, no larger than its body and a
    request head; the buffer comes back when the lent form has been sent (or failed), and is
    then lent to the next form, text or attachment."""
    from pushover.http import UrequestsTransport

    class OK:
        def request(self, method, url, form=None, timeout=None, secrets=()):
            for _ in form.chunks():
                pass
            return 200, {}, b'{"status":1,"request":"r"}'

    class Down:
        def request(self, method, url, form=None, timeout=None, secrets=()):
            raise OSError(113)

    po = Pushover(TOKEN, USER, bufsize=4096, transport=OK())
    first = po.form("hi", attachment=JPEG)
    assert len(first._buf) == 4096
    make = (lambda: po.form("hi")) if text_after else (lambda: po.form("hi", attachment=JPEG))
    second = make()
    assert second._buf is not first._buf
    assert len(second._buf) == min(4096, second.length + 256 + 2) < 4096
    po.request("POST", "messages.json", second)  # not the lent one: nothing comes back
    assert make()._buf is not first._buf
    po.request("POST", "messages.json", first)
    assert make()._buf is first._buf
    # a failed send gives it back too
    po = Pushover(TOKEN, USER, bufsize=4096, transport=UrequestsTransport(module=Down()))
    lent = po.form("hi", attachment_base64=JPEG, attachment_type="image/jpeg")
    assert len(lent._buf) == 4096
    with pytest.raises(PushoverError):
        po.request("POST", "messages.json", lent)
    assert make()._buf is lent._buf
    # a Form made directly has its own buffer, sized to its body (and 2 bytes of slack)
    assert len(Form([("message", "x")], bufsize=4096)._buf) == 1 + 8 + 256 + 2


def test_a_pushover_that_only_sends_text_never_holds_bufsize_bytes():
    """Until a send has an attachment, each text form has a buffer sized to its body, and the
    Pushover keeps none (a sensor that only sends text never holds bufsize bytes)."""
    po = Pushover(TOKEN, USER, bufsize=4096)
    for message in ("hi", "x" * 1024):
        form = po.form(message)
        # the requests transport writes the request head itself: no room for one, only the
        # 2 bytes that let the body go out as one chunk
        assert len(form._buf) == min(4096, form.length + 2)
        body = body_of(form)
        assert len(body) == form.length and ("message", message) in parse_urlencoded(body)
    assert po._spare is None and po._lent is None
    from pushover.api import call
    from pushover.sock import SocketTransport

    form = Pushover(TOKEN, USER, bufsize=4096, transport=SocketTransport()).form("hi")
    assert len(form._buf) == form.length + 256 + 2  # the socket transport sends its head first
    for transport, room in ((None, 0), (SocketTransport(), 256)):  # the other API calls too
        sent = []
        other = Pushover(TOKEN, USER, transport=transport)
        other.request = lambda method, path, form=None, sent=sent: sent.append(form)
        call(other, "POST", "glances.json", [("title", "21.5 C")])
        assert len(sent[0]._buf) == sent[0].length + room + 2
    with pytest.raises(FieldError):  # a bad attachment still makes the buffer first, once
        po.form("hi", attachment=b"not an image")
    assert len(po._lent) == 4096


@pytest.mark.parametrize("attach", [False, True])
def test_a_request_head_longer_than_the_buffer_goes_first_whole(attach):
    po = Pushover(TOKEN, USER, bufsize=64)
    form = po.form("hi", attachment=JPEG, boundary="B0") if attach else po.form("hi")
    head = bytes(range(256)) * 3  # longer than the buffer, which is at most length + 256
    assert len(head) > len(form._buf)
    body = body_of(form)
    sent = b"".join(bytes(c) for c in form.chunks(head))
    assert sent == head + body and len(body) == form.length


def test_a_resend_streams_the_same_body(tmp_path):
    stream = io.BytesIO(JPEG)
    form = Pushover(TOKEN, USER).form("hi", attachment=stream)
    assert body_of(form) == body_of(form)


def test_source_that_shrinks_mid_send_is_an_error(tmp_path):
    path = tmp_path / "a.jpg"
    path.write_bytes(JPEG)
    form = Pushover(TOKEN, USER, bufsize=64).form("hi", attachment=str(path))
    chunks = form.chunks()
    next(chunks)
    path.write_bytes(JPEG[:10])
    with pytest.raises(FieldError) as e:
        for _ in chunks:
            pass
    assert e.value.field == "attachment" and e.value.size == 10


def test_bufsize_has_a_floor():
    with pytest.raises(ValueError):
        Form([("message", "x")], bufsize=8)


_PEAK = """
import gc, sys, tracemalloc
sys.path[:0] = [%r, %r]
from pushover import Pushover
from pushover.http import UrequestsTransport
po = Pushover(%r, %r, bufsize=%d, transport=UrequestsTransport(module=object()))
form = po.form("hi", attachment=%r)
gc.collect()
tracemalloc.start()
total = chunks = 0
for chunk in form.chunks():
    total += len(chunk)
    chunks += 1
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
assert total == form.length
print(peak, chunks)
"""


def stream_peak(path, bufsize=1024):
    """Peak bytes allocated while streaming a file attachment's body (tracemalloc), in a
    process of its own: in this one, a server thread left by another test would count."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    script = _PEAK % (str(root / "lib"), str(root / "tools" / "shim"), TOKEN, USER, bufsize, path)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    peak, chunks = res.stdout.split()
    return int(peak), int(chunks)


def test_memory_does_not_grow_with_the_attachment(tmp_path):
    peaks = {}
    for size in (0, 100_000, 1_000_000, 5_000_000):
        path = tmp_path / ("%d.jpg" % size)
        with open(path, "wb") as f:
            f.write(JPEG[:4])
            f.truncate(max(size, 4))
        peaks[size], chunks = stream_peak(str(path))
    spread = max(peaks.values()) - min(peaks.values())
    print("\npeak bytes while streaming, by attachment size:", peaks,
          "spread %d bytes" % spread)
    # the 5 MB body passes through ~5000 chunks; any per-chunk allocation that is kept, or a
    # copy of the body, would show here as kilobytes to megabytes
    assert spread < 512, peaks
    assert max(peaks.values()) < 16 * 1024


def test_a_port_without_os_urandom_still_gets_a_random_boundary(monkeypatch):
    import pushover.attach as attach

    class NoUrandom:  # os as a port without a random source has it: no urandom
        stat = staticmethod(attach.os.stat)

    monkeypatch.setattr(attach, "os", NoUrandom)
    po = Pushover(TOKEN, USER)
    boundaries = {po.form("hi", attachment=JPEG).boundary for _ in range(20)}
    assert len(boundaries) == 20
    assert all(b.startswith("pushover") and len(b) > 24 for b in boundaries)
    form = po.form("hi", attachment=JPEG)
    assert len(body_of(form)) == form.length


def test_no_heap_for_the_body_buffer_is_a_field_error_before_any_io(monkeypatch):
    """Where the heap has no block of bufsize (a MemoryError from bytearray()), the send
    raises a FieldError naming bufsize and the block, before the transport is called; the
    Pushover keeps no buffer, and a text form, whose own buffer is small, still works.
    (The WASI build cannot catch a failed allocation; on the native core the same send of a
    400 KB file with bufsize 300000 on a 128 KB heap gives this FieldError.)"""
    import pushover
    import pushover.form

    real = bytearray

    def scarce(n=0):
        if isinstance(n, int) and n >= 4096:
            raise MemoryError
        return real(n)

    monkeypatch.setattr(pushover, "bytearray", scarce, raising=False)
    monkeypatch.setattr(pushover.form, "bytearray", scarce, raising=False)

    class NoIO:
        def request(self, *args):
            raise AssertionError("the transport was called")

    po = Pushover(TOKEN, USER, bufsize=4096, transport=NoIO())
    with pytest.raises(FieldError) as got:
        po.send("Motion", attachment=JPEG + bytes(8192))
    assert got.value.field == "bufsize" and "no free block of 4096 bytes" in str(got.value)
    assert po._lent is None
    assert len(po.form("Door open")._buf) < 4096


def test_a_random_boundary_found_in_a_value_is_made_again(monkeypatch):
    """The boundary must not occur in any field: one that does (here the first one the
    random source gives is in the message) is replaced by another before the form is made."""
    import pushover.attach as attach

    draws = [b"\x00" * 16, b"\x11" * 16]

    class Os:
        @staticmethod
        def urandom(n):
            return draws.pop(0)

    monkeypatch.setattr(attach, "os", Os)
    first = "pushover" + "00" * 16
    form = Pushover(TOKEN, USER).form("a message that holds " + first, attachment=JPEG)
    assert form.boundary == "pushover" + "11" * 16 and not draws
    assert body_of(form).count(form.boundary.encode()) == 5  # 4 parts and the closing one
