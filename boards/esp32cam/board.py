"""Board settings: AI-Thinker ESP32-CAM (ESP32-D0WD, 4 MB PSRAM, OV2640 camera, microSD slot).
The firmware must include a camera driver (see README.md). Copied to the board as /board.py.

Pins are GPIO numbers. Most pins are taken by the camera, the PSRAM (GPIO 16) and the microSD
slot (GPIO 2, 4, 12, 13, 14, 15 in 4-bit mode). GPIO 12 is a strapping pin: nothing may
pull it high at boot.
"""

NAME: str = "esp32cam"
HAS_PSRAM: bool = True

# PSRAM holds the heap and the camera's frame buffers; a JPEG frame is tens of KB.
BUFSIZE: int = 8192

# The small red LED on the back (active low). The bright flash LED is GPIO 4, which is also
# microSD data line 1: it flickers while the card is used.
LED_PIN: int | None = 33
LED_ACTIVE_LOW: bool = True
FLASH_LED_PIN: int | None = 4

DOOR_PIN: int | None = None
DOOR_OPEN_LEVEL: int = 1

# No free pin for a DS18B20 once the camera and PIR are wired: use the internal sensor.
DS18B20_PIN: int | None = None

# PIR output (active high) on GPIO 13, an RTC GPIO that can wake the chip. GPIO 13 is microSD
# data line 3: use the card in 1-bit mode (machine.SDCard(slot=1, width=1)) or not at all.
PIR_PIN: int | None = 13

BATTERY_ADC_PIN: int | None = None
BATTERY_DIVIDER: float = 2.0

WAKE: str | None = "ext0"

# The OV2640 wiring of the AI-Thinker board (the same map as Espressif's esp32-camera
# CAMERA_MODEL_AI_THINKER), under the keyword names of the lemariva camera driver's init().
CAMERA_PINS: dict[str, int] | None = {
    "d0": 5, "d1": 18, "d2": 19, "d3": 21, "d4": 36, "d5": 39, "d6": 34, "d7": 35,
    "xclk": 0, "pclk": 22, "vsync": 25, "href": 23, "siod": 26, "sioc": 27,
    "pwdn": 32, "reset": -1,
}
