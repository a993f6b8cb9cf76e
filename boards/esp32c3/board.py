"""Board settings: an ESP32-C3 board (ESP32-C3-DevKitM-1, or the "SuperMini"), single RISC-V
core, no PSRAM, firmware ESP32_GENERIC_C3. Copied to the board as /board.py.

Pins are GPIO numbers. Only GPIO 0-5 can wake the C3 from deep sleep. Avoid the strapping
pins 2, 8 and 9, and 18-19 (USB).
"""

NAME: str = "esp32c3"
HAS_PSRAM: bool = False

# The smallest heap of these boards, shared with Wi-Fi and TLS: a small buffer.
BUFSIZE: int = 1024

# GPIO 8: an RGB LED (WS2812) on the DevKitM-1, a blue LED (active low) on SuperMini boards.
LED_PIN: int | None = 8
LED_ACTIVE_LOW: bool = True
FLASH_LED_PIN: int | None = None

# Door reed switch to GND, external 10k pull-up: closed = 0, open = 1.
DOOR_PIN: int | None = 3
DOOR_OPEN_LEVEL: int = 1

# DS18B20 data line, 4.7k pull-up. None: the chip's internal sensor (esp32.mcu_temperature).
DS18B20_PIN: int | None = 4

PIR_PIN: int | None = None

# Battery through a 100k/100k divider into GPIO 1 (ADC1 channel 1).
BATTERY_ADC_PIN: int | None = 1
BATTERY_DIVIDER: float = 2.0

# The C3 has no ext0/ext1 wake: it wakes on GPIO 0-5 through esp32.wake_on_gpio().
WAKE: str | None = "gpio"

CAMERA_PINS: dict[str, int] | None = None
