"""Board settings: ESP32-S3-DevKitC-1 with octal PSRAM (e.g. N8R8, N16R8), firmware
ESP32_GENERIC_S3 variant SPIRAM_OCT. Copied to the board as /board.py.

Pins are GPIO numbers. Avoid GPIO 26-32 (flash), 33-37 (octal PSRAM), 19-20 (USB) and the
strapping pins 0, 3, 45, 46. GPIO 0-21 are RTC GPIOs and can wake the chip.
"""

NAME: str = "esp32s3_psram"
HAS_PSRAM: bool = True

# With PSRAM the MicroPython heap lives there and is megabytes large: a big buffer means
# fewer, larger writes to the socket.
BUFSIZE: int = 16384

# On-board RGB LED (WS2812): GPIO 48 on DevKitC-1 v1.0, GPIO 38 on v1.1. Drive it with
# the `neopixel` module, not as a plain output.
LED_PIN: int | None = 48
LED_ACTIVE_LOW: bool = False
FLASH_LED_PIN: int | None = None

# Door reed switch to GND, external 10k pull-up: closed = 0, open = 1.
DOOR_PIN: int | None = 5
DOOR_OPEN_LEVEL: int = 1

# DS18B20 data line, 4.7k pull-up. None: the chip's internal sensor (esp32.mcu_temperature).
DS18B20_PIN: int | None = 4

PIR_PIN: int | None = None

# Battery through a 100k/100k divider into GPIO 1 (ADC1 channel 0).
BATTERY_ADC_PIN: int | None = 1
BATTERY_DIVIDER: float = 2.0

WAKE: str | None = "ext0"

CAMERA_PINS: dict[str, int] | None = None
