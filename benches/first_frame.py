#!/usr/bin/env python3
"""Start to first frame of the station window (the demo station), measured from outside.

Runs the binary under its own Xvfb and polls a 16x16 patch of the screen until the window's
pixels appear; the figure is from spawning the process to the first poll that sees them, so it
includes the demo database being created and carries the poll's own resolution (printed).

    cargo build --release && python3 benches/first_frame.py target/release/packbench [runs]

Needs Xvfb (Debian: xvfb) and python-xlib (pip install python-xlib).
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time


from Xlib import X, display as xdisplay

_conn = {}


def screen_painted(display):
    # A patch in the middle of the black root window: any non-zero pixel means the station's
    # window has drawn (its background is not black).
    if display not in _conn:
        _conn[display] = xdisplay.Display(display)
    root = _conn[display].screen().root
    img = root.get_image(632, 392, 16, 16, X.ZPixmap, 0xFFFFFFFF)
    data = img.data
    return data.count(0) != len(data)


def one_run(binary, display):
    env = dict(os.environ, DISPLAY=display, PACKBENCH_TIMING="1")
    with tempfile.TemporaryDirectory() as home:
        env["TMPDIR"] = home
        t0 = time.monotonic()
        p = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        polls = []
        try:
            while True:
                t = time.monotonic()
                if screen_painted(display):
                    polls.append(time.monotonic() - t)
                    return (time.monotonic() - t0) * 1000, statistics.mean(polls) * 1000
                polls.append(time.monotonic() - t)
                if p.poll() is not None:
                    sys.exit("the station exited: " + p.stderr.read())
                if time.monotonic() - t0 > 30:
                    sys.exit("no frame within 30 s")
        finally:
            p.terminate()
            p.wait()


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/packbench"
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    display = ":97"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        assert not screen_painted(display), "the empty screen is not black"
        results = [one_run(binary, display) for _ in range(runs)]
    finally:
        xvfb.terminate()
    ms = sorted(r[0] for r in results)
    poll = statistics.mean(r[1] for r in results)
    print(f"start to first frame, {runs} runs of {binary} at 1280x800: "
          f"min {ms[0]:.0f} ms, median {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms "
          f"(screen polled every ~{poll:.1f} ms)")


if __name__ == "__main__":
    main()
