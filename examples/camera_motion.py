"""ESP32-CAM: a PIR sensor wakes the board, it takes a photo and sends it as the attachment.

The frame the camera driver returns (a JPEG in PSRAM) is passed to send() as it is, as
`attachment=` with `attachment_type="image/jpeg"`: the library streams it from that buffer,
with no copy. A flapping sensor sends at most CAMERA_MAX_ALERTS photos per CAMERA_WINDOW_S
(pushover.storm.StormGuard, state in a file); the ones held back are counted in the next.

Between events the board deep-sleeps, woken by the PIR pin going high (board.PIR_PIN).

The `camera` module is not part of MicroPython: the firmware must be built with a camera
driver (see boards/esp32cam/README.md). This uses the module-level API of lemariva's driver
(init, framesize, quality, capture, deinit); take_photo() is the one place to adapt for
another driver.

On the host: main(settings=..., board=..., camera=<module>, pir=<object with value()>,
storm_path=..., sleep=print, clock=...) runs one wake; tools/shim/camera.py returns a tiny JPEG.
"""

import time

import wifi

import machine
from pushover import PushoverError

CAMERA_MAX_ALERTS = 3
CAMERA_WINDOW_S = 600
STORM_PATH = "/camera_storm.json"
REARM_S = 30  # when the PIR is still high at the end: look again after this long


def take_photo(cam, pins, framesize=None, quality=12, attempts=2):
    """One JPEG frame (bytes). The camera is started for the photo and stopped after, which
    frees its frame buffers and its current draw; a failed start is retried once (it often
    fails once after a soft reset)."""
    for _ in range(attempts):
        started = cam.init(0, format=cam.JPEG, fb_location=cam.PSRAM, **pins)
        if started is False:
            cam.deinit()
            continue
        try:
            cam.framesize(cam.FRAME_VGA if framesize is None else framesize)
            cam.quality(quality)
            frame = cam.capture()
            frame = cam.capture() or frame  # the first frame after a start is often too dark
        finally:
            cam.deinit()
        if frame:
            return frame
    raise OSError("camera: no frame (check the ribbon cable and the power supply)")


def main(settings=None, board=None, camera=None, pir=None, storm_path=STORM_PATH,
         sleep=None, clock=time.time):
    """One wake. Returns "no motion", "sent (<n> bytes)", "held back" or "error: ..."."""
    from pushover.storm import StormGuard

    if settings is None:
        settings = wifi.load_settings()
    if board is None:
        board = wifi.load_board()
    if board.PIR_PIN is None or board.CAMERA_PINS is None:
        raise RuntimeError("board.py has no PIR_PIN or CAMERA_PINS: this needs an ESP32-CAM")
    if pir is None:
        pir = machine.Pin(board.PIR_PIN, machine.Pin.IN)
    if camera is None:
        import camera
    guard = StormGuard(storm_path, limit=int(getattr(settings, "CAMERA_MAX_ALERTS",
                                                     CAMERA_MAX_ALERTS)),
                       window=int(getattr(settings, "CAMERA_WINDOW_S", CAMERA_WINDOW_S)),
                       clock=clock)
    outcome = "no motion"
    if pir.value():
        allowed, suppressed = guard.allow("motion")
        if not allowed:
            outcome = "held back"
        else:
            message = "Motion seen by the camera"
            if suppressed:
                message += " (+%d held back)" % suppressed
            try:
                frame = take_photo(camera, board.CAMERA_PINS)
                wifi.online(settings)
                wifi.client(settings, board).send(
                    message, title="Motion", attachment=frame, attachment_type="image/jpeg",
                    attachment_name="motion.jpg")
                outcome = "sent (%d bytes)" % len(frame)
            except (PushoverError, OSError) as e:
                guard.undo("motion", suppressed)
                outcome = "error: " + str(e)
    print("camera_motion:", outcome)

    if pir.value() or board.WAKE is None:
        sleep_ms = REARM_S * 1000  # still high (a pin wake would fire at once), or no pin wake
    else:
        wifi.arm_wake(board, machine.Pin(board.PIR_PIN, machine.Pin.IN), 1)
        sleep_ms = None  # until the next motion (no timer)
    (wifi.deep_sleep if sleep is None else sleep)(sleep_ms)
    return outcome


if __name__ == "__main__":
    main()
