"""Host-side helpers for tests: decode request bodies with parsers nobody here wrote."""

from urllib.parse import parse_qsl

from python_multipart import MultipartParser
from python_multipart.multipart import parse_options_header


def body_of(form):
    """The whole body a Form streams, as bytes (copying each chunk before the next)."""
    return b"".join(bytes(chunk) for chunk in form.chunks())


def parse_multipart(content_type, body):
    """{name: (headers dict, data bytes)} parsed by python-multipart."""
    _, params = parse_options_header(content_type)
    parts = {}
    state = {}

    def on_part_begin():
        state.update(headers={}, data=bytearray(), field=b"", value=b"")

    def on_header_field(data, start, end):
        state["field"] += data[start:end]

    def on_header_value(data, start, end):
        state["value"] += data[start:end]

    def on_header_end():
        state["headers"][state["field"].decode().lower()] = state["value"].decode()
        state["field"] = state["value"] = b""

    def on_part_data(data, start, end):
        state["data"] += data[start:end]

    def on_part_end():
        _, disp = parse_options_header(state["headers"]["content-disposition"])
        name = disp[b"name"].decode()
        assert name not in parts, "field sent twice: " + name
        parts[name] = (state["headers"], bytes(state["data"]))

    ended = []
    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_part_data": on_part_data, "on_part_end": on_part_end,
        "on_end": lambda: ended.append(True),
    })
    parser.write(body)
    parser.finalize()
    assert ended, "multipart body has no closing boundary"
    return parts


def parse_urlencoded(body):
    """[(name, value)] parsed by urllib, strict about bad percent-escapes."""
    return parse_qsl(body.decode("ascii"), keep_blank_values=True, strict_parsing=True,
                     encoding="utf-8", errors="strict")
