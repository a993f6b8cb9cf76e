"""Set-up checks and account facts: is a user (and device) valid, which sounds exist, how much
quota is left. Each is one small API call, imported only when used.

    from pushover.account import validate_user, sounds, limits
"""

from .api import call
from .fields import check_users


def validate_user(po, user=None, device=None):
    """Result with `.data["devices"]`, `["licenses"]` and `["group"]` (0/1); raises
    RejectedError when the user or device is not valid."""
    user = po._user if user is None else check_users(user)
    if user is None:
        from .errors import FieldError

        raise FieldError("user", "is required: give it to Pushover() or to validate_user()")
    if device is not None:
        from .options import check_devices  # loaded only when a device is named

        device = check_devices(device)
    return call(po, "POST", "users/validate.json", (("user", user), ("device", device)))


def sounds(po):
    """{name: description} of the built-in sounds and the account's custom ones."""
    return call(po, "GET", "sounds.json").data.get("sounds") or {}


def limits(po):
    """(limit, remaining, reset) of the application's monthly quota."""
    data = call(po, "GET", "apps/limits.json").data
    return data.get("limit"), data.get("remaining"), data.get("reset")
