"""Board settings: a generic ESP32 DevKit (ESP32-WROOM-32, 4 MB flash, no PSRAM), firmware
ESP32_GENERIC. Copied to the board as /board.py; the examples read their pins from here.

Pins are GPIO numbers. Every input used for waking from deep sleep is an RTC GPIO.
"""

NAME: str = "esp32"
HAS_PSRAM: bool = False

# The one buffer a Pushover body is streamed through (allocated per send, freed after).
# Without PSRAM the heap is internal SRAM shared with Wi-Fi and TLS: keep it modest.
BUFSIZE: int = 2048

# Status LED: GPIO 2 on most DevKit clones (Espressif's own DevKitC has no user LED).
LED_PIN: int | None = 2
LED_ACTIVE_LOW: bool = False
FLASH_LED_PIN: int | None = None

# Door reed switch between the pin and GND, external 10k pull-up to 3V3 (the internal pull-up
# is not kept in deep sleep): door closed = magnet near = switch closed = 0; open = 1.
DOOR_PIN: int | None = 27
DOOR_OPEN_LEVEL: int = 1

# DS18B20 data line, 4.7k pull-up to 3V3. None: use the chip's internal sensor instead.
DS18B20_PIN: int | None = 4

# PIR motion sensor output (active high). None: no PIR on this board.
PIR_PIN: int | None = None

# Battery through a 100k/100k divider into an ADC1 pin (ADC2 cannot be read while Wi-Fi is on).
BATTERY_ADC_PIN: int | None = 34
BATTERY_DIVIDER: float = 2.0

# How an input wakes the chip from deep sleep: "ext0" (ESP32, S3), "gpio" (C3), None (timer).
WAKE: str | None = "ext0"

# Camera pins for the `camera` driver, or None when the board has no camera.
CAMERA_PINS: dict[str, int] | None = None
