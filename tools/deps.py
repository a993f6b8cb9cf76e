"""Print the host dependencies listed in pyproject.toml, one per line, for `pip install`."""

import pathlib
import sys

try:
    import tomllib
except ImportError:  # Python 3.10
    sys.exit("python 3.11 or newer is needed to read pyproject.toml (tomllib)")

root = pathlib.Path(__file__).resolve().parent.parent
project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
print("\n".join(project["dependencies"]))
