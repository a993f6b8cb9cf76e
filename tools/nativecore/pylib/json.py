# json.loads for a port without the C json module: objects, arrays, strings, ints, floats,
# true, false, null (enough for Pushover replies)


def loads(s):
    """As MicroPython's json.loads: the value, or ValueError for text that is not JSON."""
    if isinstance(s, (bytes, bytearray)):
        s = s.decode()
    try:
        value, i = _value(s, _ws(s, 0))
    except IndexError:  # the text ended inside a value
        raise ValueError("syntax error in JSON") from None
    if _ws(s, i) != len(s):
        raise ValueError("syntax error in JSON")
    return value


def _ws(s, i):
    while i < len(s) and s[i] in " \t\r\n":
        i += 1
    return i


def _value(s, i):
    c = s[i] if i < len(s) else ""
    if c == "{":
        out = {}
        i = _ws(s, i + 1)
        if s[i] == "}":
            return out, i + 1
        while True:
            key, i = _string(s, _ws(s, i))
            i = _ws(s, i)
            if s[i] != ":":
                raise ValueError("expected :")
            out[key], i = _value(s, _ws(s, i + 1))
            i = _ws(s, i)
            if s[i] == "}":
                return out, i + 1
            if s[i] != ",":
                raise ValueError("expected ,")
            i = i + 1
    if c == "[":
        out = []
        i = _ws(s, i + 1)
        if s[i] == "]":
            return out, i + 1
        while True:
            v, i = _value(s, _ws(s, i))
            out.append(v)
            i = _ws(s, i)
            if s[i] == "]":
                return out, i + 1
            if s[i] != ",":
                raise ValueError("expected ,")
            i += 1
    if c == '"':
        return _string(s, i)
    for word, v in (("true", True), ("false", False), ("null", None)):
        if s.startswith(word, i):
            return v, i + len(word)
    j = i
    while j < len(s) and s[j] in "+-0123456789.eE":
        j += 1
    if j == i:
        raise ValueError("bad JSON")
    t = s[i:j]
    return (float(t) if ("." in t or "e" in t or "E" in t) else int(t)), j


def _string(s, i):
    if s[i] != '"':
        raise ValueError("expected string")
    out = []
    i += 1
    while s[i] != '"':
        if s[i] == "\\":
            c = s[i + 1]
            if c == "u":
                code = int(s[i + 2:i + 6], 16)
                i += 6
                if 0xD800 <= code < 0xDC00 and s[i:i + 2] == "\\u":  # a surrogate pair
                    low = int(s[i + 2:i + 6], 16)
                    if 0xDC00 <= low < 0xE000:
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                        i += 6
                out.append(chr(code))
                continue
            out.append({"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}.get(c, c))
            i += 2
        else:
            out.append(s[i])
            i += 1
    return "".join(out), i + 1


def dumps(v):
    raise NotImplementedError("json.dumps")
