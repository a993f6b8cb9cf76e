"""Guest script (MicroPython), run by lean_memory.py in its `survive-text` and
`survive-attach` modes: one send on whatever heap it is given, and how it went, as
`sending` once the import and Pushover() fit (before that the heap is too small for any
send; such a run may end anywhere), then `outcome=N`: 0 sent, 1 a PushoverError, 3 a
MemoryError escaped the send. 3, or no outcome after `sending`, must never happen: on a board
a send that runs out of heap is a PushoverError that says whether a resend can help
(tools/bench_lean.py runs this on every heap from the bare sender's smallest to the
library's)."""

import sys

from lean_memory import MODE, PATH, TOKEN, USER, Net

sys.modules["socket"] = Net()
import requests  # noqa: E402,F401 (after the fake socket module is in place)

import pushover  # noqa: E402

po = pushover.Pushover(TOKEN, USER, api_url="http://api.pushover.net/1")
print("sending")
try:
    if MODE == "survive-text":
        po.send("Door open")
    else:
        po.send("Motion", attachment=PATH, attachment_type="image/jpeg")
    print("outcome=0")
except pushover.PushoverError:
    print("outcome=1")
except MemoryError:
    print("outcome=3")
