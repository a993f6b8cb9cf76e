# The unix port with this library frozen in, to measure the frozen deployment on a real port:
#
#   make -C ports/unix BUILD=build-frozen \
#       FROZEN_MANIFEST=/abs/path/to/this/repo/tools/unix_frozen_manifest.py
#   python tools/bench_lean.py --micropython ports/unix/build-standard/micropython \
#       --mpy-cross mpy-cross/build/mpy-cross --requests ~/.micropython/lib \
#       --frozen ports/unix/build-frozen/micropython
#
# The .mpy rows run on the port built without this manifest: with the package frozen in, its
# names are in the firmware's qstr pool and a .mpy loaded beside it would not pay for them.
#
# Paths that do not start with a $(VARIABLE) are resolved from this file's folder, so "../lib"
# is this repository's lib/. The port's own manifest stays in; requests is frozen too, as on
# a board whose firmware has it.

include("$(PORT_DIR)/variants/manifest.py")
require("requests")
package("pushover", base_path="../lib")
