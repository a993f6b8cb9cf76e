# Firmware with the pushover library frozen in (bytecode and strings in flash: an import keeps
# only its function and class objects on the heap).
# Build it from micropython/ports/esp32, giving this file's ABSOLUTE path:
#
#   make BOARD=ESP32_GENERIC \
#       FROZEN_MANIFEST=/abs/path/to/this/repo/boards/esp32/manifest.py
#
# Paths in a manifest that do not start with a $(VARIABLE) are resolved from the folder of the
# manifest itself, so "../../lib" is this repository's lib/ wherever it is checked out.

# Everything the port freezes by default (asyncio, mip, ntptime, requests, urequests, onewire,
# ds18x20, neopixel, ...): the examples rely on ntptime, onewire and ds18x20.
include("$(PORT_DIR)/boards/manifest.py")

# The library's default transport imports requests (urequests is only its alias). The port's
# manifest already has it; a second require() of the same package is skipped.
require("requests")

# lib/pushover/*.py. Only .py files are frozen: roots.pem (for SocketTransport(verify=True))
# is not; copy it to /lib/pushover/roots.pem and pass its bytes as cadata= (see README.md).
package("pushover", base_path="../../lib")
