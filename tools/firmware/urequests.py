"""The firmware's `urequests`: a one-line forwarding alias of `requests`, as in micropython-lib."""

from requests import *  # noqa: F401,F403
