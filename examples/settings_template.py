"""Settings for the examples. Copy this file to settings.py at the top of the repository,
fill it in, and `make deploy` copies it to the board as /settings.py.

settings.py holds secrets (Wi-Fi password, Pushover keys): it is in .gitignore and must never
be committed. Only this template is.
"""

# Wi-Fi (2.4 GHz: the ESP32 family has no 5 GHz radio)
WIFI_SSID = "your-wifi-name"
WIFI_PASSWORD = "your-wifi-password"

# Pushover: your application's API token and your user (or group) key, 30 letters and digits
# each, from your Pushover dashboard.
PUSHOVER_TOKEN = "your-app-token"
PUSHOVER_USER = "your-user-key"

# None: the real Pushover. A local server for trying things out (`make server` on a computer
# on the same network): "http://<that computer's address>:8765/1".
API_URL = None

# temperature_alert.py: alert once above TEMP_HIGH (degrees C), again only after the
# temperature fell below TEMP_HIGH - TEMP_HYST; read every TEMP_INTERVAL_S seconds.
TEMP_HIGH = 30.0
TEMP_HYST = 2.0
TEMP_INTERVAL_S = 300

# door_emergency.py: an emergency alert (priority 2, repeated until acknowledged) when the door
# named DOOR_NAME stays open DOOR_OPEN_MINUTES; cancelled when it closes.
DOOR_NAME = "garage"
DOOR_OPEN_MINUTES = 10

# camera_motion.py: at most CAMERA_MAX_ALERTS photos per CAMERA_WINDOW_S seconds.
CAMERA_MAX_ALERTS = 3
CAMERA_WINDOW_S = 600

# battery_glance.py: read every BATTERY_INTERVAL_S seconds; at most GLANCES_PER_DAY watch
# updates a day (a watch takes about 50).
BATTERY_INTERVAL_S = 1800
GLANCES_PER_DAY = 48
