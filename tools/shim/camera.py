"""Host-only stand-in for the ESP32 `camera` driver module (never copied to a board), with
the module-level API of lemariva's micropython-camera-driver: init(), framesize(), quality(),
capture(), deinit(). It also serves as the type source for `camera` when type-checking the
examples (the firmware stubs have no camera module).

capture() returns FRAME: a real 8x8 JPEG (287 bytes) unless a test sets another. Host-only
hooks: INITS records init() keyword arguments; FAIL_INITS makes that many init() calls fail.
"""

JPEG = 4
RGB565 = 0
GRAYSCALE = 2
PSRAM = 1
DRAM = 0
FRAME_QVGA = 5
FRAME_CIF = 6
FRAME_VGA = 8
FRAME_SVGA = 9
FRAME_XGA = 10
FRAME_UXGA = 13
XCLK_10MHz = 10000000
XCLK_20MHz = 20000000

FRAME = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300100b0c0e0c0a100e0d0e1211101318281a1816"
    "16183123251d283a333d3c3933383740485c4e404457453738506d51575f626768673e4d71797064785c6567"
    "63ffdb0043011112121815182f1a1a2f63423842636363636363636363636363636363636363636363636363"
    "6363636363636363636363636363636363636363636363636363ffc000110800080008030122000211010311"
    "01ffc4001500010100000000000000000000000000000005ffc4001410010000000000000000000000000000"
    "0000ffc4001501010100000000000000000000000000000406ffc40014110100000000000000000000000000"
    "000000ffda000c03010002110311003f0096004a67ffd9"
)
_DEFAULT_FRAME = FRAME
INITS: list = []
FAIL_INITS = 0
_ready = False


def init(id: int = 0, **kwargs) -> bool:
    """Start the camera; False (as the driver does) when it cannot."""
    global _ready, FAIL_INITS
    INITS.append(kwargs)
    if FAIL_INITS > 0:
        FAIL_INITS -= 1
        return False
    _ready = True
    return True


def deinit() -> None:
    global _ready
    _ready = False


def framesize(size: int) -> None:
    pass


def quality(q: int) -> None:
    pass


def capture() -> bytes:
    """One JPEG frame (bytes); raises OSError when the camera was not started."""
    if not _ready:
        raise OSError("camera not initialised")
    return FRAME


def host_reset() -> None:
    global _ready, FAIL_INITS, FRAME
    _ready = False
    FAIL_INITS = 0
    INITS.clear()
    FRAME = _DEFAULT_FRAME
