"""Host-only stand-in for MicroPython's `micropython` module (never copied to a board)."""


def const(value):
    return value


def native(func):
    return func


viper = native


def mem_info(*_args):
    pass


def opt_level(*_args):
    return 0
