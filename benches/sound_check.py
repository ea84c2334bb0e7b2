#!/usr/bin/env python3
"""The alert cue end to end on a machine with a sound server: the headless station picks the
player by itself, a refused scan plays the alert, and the sound reaches the server.

A PulseAudio null sink stands in for the speaker; its monitor is recorded while a wrong item
is scanned. Prints the player the station chose, the delay from the scan to the first audible
sample, and the tones heard.

    cargo build --release && python3 benches/sound_check.py target/release/packbench

Needs pulseaudio and pulseaudio-utils (Debian), started by this script in its own runtime dir.
"""
import array
import os
import shutil
import subprocess
import sys
import tempfile
import time

RATE = 16000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def tone(samples):
    # Frequency from zero crossings: plenty for telling 880 Hz from 587 Hz.
    crossings = sum(1 for a, b in zip(samples, samples[1:]) if (a < 0) != (b < 0))
    return crossings / 2 / (len(samples) / RATE)


def main():
    binary = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/packbench")
    work = tempfile.mkdtemp(prefix="pb-sound-")
    env = dict(os.environ, XDG_RUNTIME_DIR=os.path.join(work, "xdg"), HOME=work)
    os.makedirs(env["XDG_RUNTIME_DIR"], mode=0o700)
    subprocess.run(["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "-n",
                    "--load=module-null-sink sink_name=bench",
                    "--load=module-native-protocol-unix"], env=env, check=True,
                   stderr=subprocess.DEVNULL)
    time.sleep(1)
    try:
        db = os.path.join(work, "bench.db")
        for kind in ["catalog", "employees", "packaging", "orders"]:
            subprocess.run([binary, "import", kind, os.path.join(ROOT, "fixtures", kind + ".csv"),
                            "--db", db], check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(work, "station.toml"), "w") as f:
            f.write('database = "bench.db"\n[[scanner]]\nport = "stdin"\n')
        rec_path = os.path.join(work, "rec.raw")
        rec_file = open(rec_path, "wb")
        rec = subprocess.Popen(["parec", "-d", "bench.monitor", "--raw", "--format=s16le",
                                f"--rate={RATE}", "--channels=1", "--latency-msec=20"], env=env, stdout=rec_file, stdin=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        st = subprocess.Popen([binary, "run", "--headless", "--config", "station.toml"],
                              cwd=work, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        for code in ["BADGE-E003", "TB20261122001"]:
            st.stdin.write(code + "\n")
            st.stdin.flush()
            st.stdout.readline()
        delays = []
        for _ in range(3):
            time.sleep(1.5)  # the last sound has ended: the recording stops growing
            size0 = os.path.getsize(rec_path)
            scanned = time.monotonic()
            st.stdin.write("6921568310025\n")  # LIP-R02: not in order 1
            st.stdin.flush()
            refusal = st.stdout.readline()
            # The null sink's monitor delivers samples only while something plays: new bytes
            # in the recording mark the sound starting (plus parec's 20 ms latency).
            while time.monotonic() - scanned < 5:
                if os.path.getsize(rec_path) > size0:
                    delays.append((time.monotonic() - scanned) * 1000)
                    break
                time.sleep(0.002)
        time.sleep(1.0)
        st.terminate()
        err = st.communicate()[1]
        rec.terminate()
        rec.wait()
        rec_file.close()
        said = [line for line in err.splitlines() if "sound" in line]
        print("station:", said[0] if said else "(no sound line)")
        print("refusal:", refusal.strip()[:100])
        data = array.array("h")
        with open(rec_path, "rb") as f:
            data.frombytes(f.read())
        loud = [i for i, s in enumerate(data) if abs(s) > 2000]
        if not loud:
            sys.exit("no sound reached the server")
        first = data[loud[0] + 400: loud[0] + 2400]
        second = data[loud[0] + int(0.26 * RATE): loud[0] + int(0.26 * RATE) + 2000]
        delay = ", ".join(f"{d:.0f}" for d in delays)
        print(f"3 refusals: the sound reached the server {delay} ms after each scan (as seen "
              f"by a client recording the sink); the first alert's tones {tone(first):.0f} Hz "
              f"then {tone(second):.0f} Hz")
    finally:
        subprocess.run(["pulseaudio", "--kill"], env=env, stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
