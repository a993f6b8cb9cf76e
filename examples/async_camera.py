"""ESP32-CAM under asyncio: a sensor keeps being sampled while a camera frame is sent.

The board stays awake (no deep sleep): one task samples a sensor every SAMPLE_MS (here the
chip's temperature sensor; put your own in `read_sensor`), another watches the PIR pin and,
on motion, takes a JPEG frame and sends it with pushover.aio, which streams the frame while
the sampler goes on. After a send it waits COOLDOWN_S before it looks again. Each send
prints how many samples were taken while it went out.

HTTPS is verified (the bundled roots; the clock is set by NTP in wifi.online()). The TLS
handshake itself blocks the loop for about a second on an ESP32: a sampler that must never
miss a beat needs a timer interrupt, not a task.

On the host: main(settings=..., board=..., camera=<module>, pir=<object with value()>,
sensor=<callable>, run_s=<seconds>) runs for run_s seconds and returns
(what each send gave, samples taken in all); tools/shim/camera.py returns a tiny JPEG.
"""

import asyncio
import time

import wifi

import machine
from pushover import PushoverError, aio

SAMPLE_MS = 100
COOLDOWN_S = 60
POLL_MS = 50  # how often the PIR pin is looked at


def read_sensor():
    """The chip's own temperature, degrees C."""
    import esp32

    read = getattr(esp32, "mcu_temperature", None)  # ESP32-S2, S3, C3, C6: degrees C
    if read is not None:
        return read()
    return (esp32.raw_temperature() - 32) / 1.8  # original ESP32 (the ESP32-CAM): degrees F


def capture(cam, pins, framesize=None, quality=12):
    """One JPEG frame (bytes); the camera is stopped again after it."""
    if cam.init(0, format=cam.JPEG, fb_location=cam.PSRAM, **pins) is False:
        cam.deinit()
        raise OSError("camera: it did not start (check the ribbon cable and the power supply)")
    try:
        cam.framesize(cam.FRAME_VGA if framesize is None else framesize)
        cam.quality(quality)
        frame = cam.capture()
    finally:
        cam.deinit()
    if not frame:
        raise OSError("camera: no frame")
    return frame


class Sampler:
    """Reads `read()` every `period_ms` while it runs: `count` samples so far, `last` value."""

    def __init__(self, read, period_ms=SAMPLE_MS):
        self.read = read
        self.period_s = period_ms / 1000
        self.count = 0
        self.last = None

    async def run(self):
        while True:
            self.last = self.read()
            self.count += 1
            await asyncio.sleep(self.period_s)


async def watch(po, cam, pins, pir, sampler, sends, cooldown_s):
    """On motion: a frame, sent while the sampler goes on; then a pause of cooldown_s."""
    while True:
        if not pir.value():
            await asyncio.sleep(POLL_MS / 1000)
            continue
        before = sampler.count
        try:
            frame = capture(cam, pins)
            result = await aio.send(po, "Motion seen by the camera", title="Motion",
                                    attachment=frame, attachment_type="image/jpeg",
                                    attachment_name="motion.jpg")
            outcome = "sent (%d bytes)" % len(frame)
            if result.remaining is not None:
                outcome += ", %d left this month" % result.remaining
        except (PushoverError, OSError) as e:
            outcome = "error: " + str(e)
        sends.append((outcome, sampler.count - before))
        print("async_camera:", outcome, "-", sampler.count - before,
              "samples taken meanwhile")
        await asyncio.sleep(cooldown_s)


async def run(settings, board, cam, pir, sensor, run_s):
    wifi.online(settings)
    po = wifi.client(settings, board)
    sampler = Sampler(sensor, int(getattr(settings, "SAMPLE_MS", SAMPLE_MS)))
    sends = []
    tasks = [asyncio.create_task(sampler.run()),
             asyncio.create_task(watch(po, cam, board.CAMERA_PINS, pir, sampler, sends,
                                       int(getattr(settings, "COOLDOWN_S", COOLDOWN_S))))]
    try:
        if run_s is None:
            await asyncio.gather(*tasks)  # on a board: until reset
        else:
            await asyncio.sleep(run_s)
    finally:
        for task in tasks:
            task.cancel()  # a send in progress closes its connection
        await asyncio.sleep(0)  # let them unwind before the loop stops
    return sends, sampler.count


def main(settings=None, board=None, camera=None, pir=None, sensor=None, run_s=None):
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
    started = time.time()
    sends, samples = asyncio.run(run(settings, board, camera, pir, sensor or read_sensor,
                                     run_s))
    print("async_camera: %d samples in %d s" % (samples, time.time() - started))
    return sends, samples


if __name__ == "__main__":
    main()
