//! The audible cue: a short sound when the station refuses something, so a packer whose eyes
//! are on the parcel, not the screen, knows at once.
//!
//! Sound goes through a player program (PulseAudio's `paplay`, PipeWire's `pw-play` or ALSA's
//! `aplay`) rather than a linked audio library: the station then builds and runs on a machine
//! with no sound stack at all, and where there is one, the system's own mixer and output
//! choice apply.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;

pub use crate::config::SoundConfig;
use crate::domain::event::{Device, EventType, ScanRejected, StoredEvent, WeightChecked};
use crate::station::runtime::{EventSink, Outcome};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cue {
    Alert,
    Packed,
}

impl Cue {
    fn name(self) -> &'static str {
        match self {
            Cue::Alert => "alert",
            Cue::Packed => "packed",
        }
    }
}

/// The cue for one input's events, if any. An alert wins over a chime.
pub fn cue_for(events: &[StoredEvent]) -> Option<Cue> {
    let alert = events.iter().any(|e| match e.kind {
        // A code refused at the supervisor view is answered in its dialog, silently as ever.
        EventType::ScanRejected => e
            .payload_as::<ScanRejected>()
            .is_none_or(|r| !r.supervisor_view),
        EventType::PrintFailed => true,
        EventType::WeightChecked => e.payload_as::<WeightChecked>().is_some_and(|w| !w.ok),
        EventType::Device => e.payload_as::<Device>().is_some_and(|d| d.state.is_lost()),
        _ => false,
    });
    if alert {
        Some(Cue::Alert)
    } else if events.iter().any(|e| e.kind == EventType::OrderPacked) {
        Some(Cue::Packed)
    } else {
        None
    }
}

/// What the machine offers, read once at start (a struct so tests can describe a machine).
#[derive(Debug, Clone, Default)]
pub struct Machine {
    pub path: Option<OsString>,
    /// `/dev/snd` exists (ALSA devices).
    pub alsa_devices: bool,
    /// A PulseAudio or PipeWire server socket, or `PULSE_SERVER`.
    pub sound_server: bool,
}

impl Machine {
    pub fn this() -> Machine {
        let runtime = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from);
        let socket = |name: &str| runtime.as_ref().is_some_and(|d| d.join(name).exists());
        Machine {
            path: std::env::var_os("PATH"),
            alsa_devices: Path::new("/dev/snd").is_dir(),
            sound_server: std::env::var_os("PULSE_SERVER").is_some()
                || socket("pulse/native")
                || socket("pipewire-0"),
        }
    }

    fn find(&self, program: &str) -> Option<PathBuf> {
        let path = self.path.as_ref()?;
        std::env::split_paths(path)
            .map(|d| d.join(program))
            .find(|p| is_executable(p))
    }
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// How cues will sound on this machine, or why they will not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Player {
        argv: Vec<String>,
        alerts: bool,
        packed: bool,
    },
    Silent {
        reason: crate::text::Text,
    },
}

impl Output {
    /// One line for the settings screen (in its language) and the start-up message.
    pub fn describe(&self) -> crate::text::Words {
        match self {
            Output::Player {
                argv,
                alerts,
                packed,
            } => {
                let what = match (alerts, packed) {
                    (true, true) => crate::text!("settings.sound_alerts_packed"),
                    (true, false) => crate::text!("settings.sound_alerts"),
                    _ => crate::text!("settings.sound_packed"),
                };
                crate::text!(
                    "settings.sound_through",
                    what = what,
                    player = argv.join(" ")
                )
            }
            Output::Silent { reason } => crate::text!("settings.sound_off", reason = reason),
        }
    }
}

pub fn detect(cfg: &SoundConfig, machine: &Machine) -> Output {
    let silent = |reason| Output::Silent { reason };
    if !cfg.alerts && !cfg.packed {
        return silent(crate::text!("settings.sound_off_config"));
    }
    let argv = match &cfg.command {
        Some(argv) if argv.is_empty() => {
            return silent(crate::text!("settings.sound_empty_command"))
        }
        Some(argv) => argv.clone(),
        None => {
            if !machine.alsa_devices && !machine.sound_server {
                return silent(crate::text!("settings.sound_no_device"));
            }
            // paplay first: where a sound server runs, it owns the device and aplay on the
            // raw device would fail or bypass the mixer.
            let candidates: &[(&str, &[&str])] =
                &[("paplay", &[]), ("pw-play", &[]), ("aplay", &["-q"])];
            let found = candidates.iter().find_map(|(p, args)| {
                let usable = *p == "aplay" || machine.sound_server;
                let bin = machine.find(p).filter(|_| usable)?;
                let mut argv = vec![bin.display().to_string()];
                argv.extend(args.iter().map(|s| s.to_string()));
                Some(argv)
            });
            match found {
                Some(argv) => argv,
                None => return silent(crate::text!("settings.sound_no_player")),
            }
        }
    };
    Output::Player {
        argv,
        alerts: cfg.alerts,
        packed: cfg.packed,
    }
}

/// The cue as a 16-bit mono WAV at 16 kHz: two falling tones for an alert (unmistakable,
/// not a scanner's beep), one short high tone for a packed order.
pub fn wav(cue: Cue) -> Vec<u8> {
    const RATE: u32 = 16_000;
    let tones: &[(f32, f32)] = match cue {
        Cue::Alert => &[(880.0, 0.18), (0.0, 0.04), (587.0, 0.30)],
        Cue::Packed => &[(1318.5, 0.12)],
    };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = hound::WavWriter::new(&mut out, spec).expect("WAV header to memory");
        for &(freq, secs) in tones {
            let n = (secs * RATE as f32) as u32;
            for i in 0..n {
                // 5 ms fade in and out: no click at the edges.
                let fade = (i.min(n - 1 - i) as f32 / (0.005 * RATE as f32)).min(1.0);
                let t = i as f32 / RATE as f32;
                let s = (t * freq * std::f32::consts::TAU).sin() * 0.6 * fade;
                w.write_sample((s * i16::MAX as f32) as i16)
                    .expect("WAV sample to memory");
            }
        }
        w.finalize().expect("WAV to memory");
    }
    out.into_inner()
}

/// Writes the cue's sound once per content (the name carries a hash of it), atomically, in
/// the temporary folder; stations running side by side share it.
fn sound_file(cue: Cue) -> std::io::Result<PathBuf> {
    use sha2::{Digest, Sha256};
    let bytes = wav(cue);
    let hash = hex::encode(&Sha256::digest(&bytes)[..6]);
    let path = std::env::temp_dir().join(format!("packbench-{}-{hash}.wav", cue.name()));
    if !path.exists() {
        let tmp = path.with_extension(format!("{}.tmp", std::process::id()));
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, &path)?;
    }
    Ok(path)
}

/// Plays cues on a thread of its own, one at a time; a cue that arrives while two are
/// already waiting is dropped (a burst of refusals is one sound, not a queue of them).
pub struct Sounder {
    tx: mpsc::SyncSender<Cue>,
    alerts: bool,
    packed: bool,
}

impl Sounder {
    /// `None` when the output is silent.
    pub fn start(output: &Output) -> Option<Sounder> {
        let Output::Player {
            argv,
            alerts,
            packed,
        } = output.clone()
        else {
            return None;
        };
        let (tx, rx) = mpsc::sync_channel::<Cue>(1);
        std::thread::Builder::new()
            .name("packbench-sound".into())
            .spawn(move || play_loop(&argv, rx))
            .ok()?;
        Some(Sounder { tx, alerts, packed })
    }

    pub fn cue(&self, cue: Cue) {
        let wanted = match cue {
            Cue::Alert => self.alerts,
            Cue::Packed => self.packed,
        };
        if wanted {
            let _ = self.tx.try_send(cue);
        }
    }

    /// A sink for the station loop's stored events.
    pub fn into_sink(self) -> EventSink {
        Box::new(move |outcome| {
            let cue = match outcome {
                Outcome::Stored(events) => cue_for(events),
                Outcome::NotRecorded => Some(Cue::Alert),
            };
            if let Some(c) = cue {
                self.cue(c);
            }
        })
    }
}

fn play_loop(argv: &[String], rx: mpsc::Receiver<Cue>) {
    let mut complained = false;
    // Each cue's file is written (or found) once, not rebuilt and hashed for every cue.
    let mut files: Vec<(Cue, PathBuf)> = Vec::new();
    for cue in rx {
        let file = match files.iter().find(|(c, _)| *c == cue) {
            Some((_, f)) => Ok(f.clone()),
            None => sound_file(cue).inspect(|f| files.push((cue, f.clone()))),
        };
        let result = file.and_then(|file| {
            Command::new(&argv[0])
                .args(&argv[1..])
                .arg(&file)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
        });
        let problem = match result {
            Ok(s) if s.success() => None,
            Ok(s) => Some(format!("{} exited with {s}", argv[0])),
            Err(e) => Some(format!("{}: {e}", argv[0])),
        };
        // Said once: a missing sound must not flood the log the packer's supervisor reads.
        if let Some(p) = problem {
            if !complained {
                tracing::warn!("sound cue not played: {p}");
                complained = true;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::DeviceStatus;

    fn ev(kind: EventType) -> StoredEvent {
        StoredEvent {
            seq: 1,
            at: chrono::DateTime::parse_from_rfc3339("2026-11-22T10:00:00+08:00").unwrap(),
            kind,
            actor: None,
            station_id: "B".into(),
            order_no: None,
            data: Default::default(),
            hash: String::new(),
        }
    }

    fn with(data: impl Into<crate::domain::event::EventData>) -> StoredEvent {
        let data = data.into();
        StoredEvent {
            data: data.to_map(),
            ..ev(data.kind())
        }
    }

    #[test]
    fn refusals_mismatches_failed_labels_and_lost_devices_are_alerts() {
        let alert = Some(Cue::Alert);
        assert_eq!(cue_for(&[ev(EventType::ScanRejected)]), alert);
        let mut r = ScanRejected::new(
            "BADGE-E003",
            crate::domain::event::RejectReason::NotAllowed,
            String::new(),
        );
        assert_eq!(cue_for(&[with(r.clone())]), alert);
        r.supervisor_view = true;
        assert_eq!(cue_for(&[with(r)]), None, "answered in the dialog");
        assert_eq!(cue_for(&[ev(EventType::PrintFailed)]), alert);
        let w = |ok| {
            with(WeightChecked {
                measured_g: 225.0,
                expected_g: 265.0,
                tolerance_g: 15.0,
                ok,
                packaging: None,
                hint: None,
                hint_detail: None,
            })
        };
        assert_eq!(cue_for(&[w(false)]), alert);
        assert_eq!(cue_for(&[w(true)]), None);
        let d = |state: DeviceStatus| {
            with(Device {
                device: "scale".into(),
                state,
                detail: String::new(),
            })
        };
        assert_eq!(cue_for(&[d(DeviceStatus::Disconnected)]), alert);
        assert_eq!(cue_for(&[d(DeviceStatus::Error)]), alert);
        assert_eq!(cue_for(&[d(DeviceStatus::Connected)]), None);
        assert_eq!(cue_for(&[ev(EventType::ItemAccepted)]), None);
        assert_eq!(cue_for(&[]), None);
        let packed = ev(EventType::OrderPacked);
        assert_eq!(cue_for(std::slice::from_ref(&packed)), Some(Cue::Packed));
        assert_eq!(
            cue_for(&[w(true), packed.clone(), d(DeviceStatus::Error)]),
            alert
        );
    }

    fn machine_with(programs: &[&str], alsa: bool, server: bool) -> (tempfile::TempDir, Machine) {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        for p in programs {
            let f = dir.path().join(p);
            std::fs::write(&f, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        // A non-executable decoy is not a player.
        std::fs::write(dir.path().join("pw-play"), "").unwrap();
        let m = Machine {
            path: Some(dir.path().as_os_str().to_owned()),
            alsa_devices: alsa,
            sound_server: server,
        };
        (dir, m)
    }

    #[test]
    fn the_player_is_chosen_by_what_the_machine_has() {
        let cfg = SoundConfig::default();
        let (_d, m) = machine_with(&["aplay", "paplay"], false, false);
        assert_eq!(
            detect(&cfg, &m),
            Output::Silent {
                reason: crate::text!("settings.sound_no_device")
            }
        );
        let (d, m) = machine_with(&["aplay", "paplay"], true, false);
        let aplay = d.path().join("aplay").display().to_string();
        match detect(&cfg, &m) {
            Output::Player { argv, alerts, .. } => {
                assert_eq!(argv, vec![aplay, "-q".to_string()], "no server: ALSA");
                assert!(alerts);
            }
            o => panic!("{o:?}"),
        }
        let (d, m) = machine_with(&["aplay", "paplay"], true, true);
        let paplay = d.path().join("paplay").display().to_string();
        assert!(
            matches!(detect(&cfg, &m), Output::Player { argv, .. } if argv == vec![paplay]),
            "a sound server takes paplay"
        );
        let (_d, m) = machine_with(&[], true, true);
        assert!(
            matches!(detect(&cfg, &m), Output::Silent { reason } if reason.en.contains("no sound player")),
            "a non-executable file is not a player"
        );
        let off = SoundConfig {
            alerts: false,
            ..SoundConfig::default()
        };
        assert!(matches!(detect(&off, &m), Output::Silent { reason } if reason.en.contains("off")));
        let cmd = SoundConfig {
            command: Some(vec!["beep".into()]),
            ..SoundConfig::default()
        };
        let (_d, bare) = machine_with(&[], false, false);
        assert_eq!(
            detect(&cmd, &bare).describe().en,
            "alerts through beep",
            "a configured command is used as given"
        );
    }

    #[test]
    fn an_input_the_store_could_not_record_sounds_the_alert() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("played");
        let output = Output::Player {
            argv: vec![
                "sh".into(),
                "-c".into(),
                format!("echo \"$1\" >> '{}'", log.display()),
                "player".into(),
            ],
            alerts: true,
            packed: false,
        };
        let sink = Sounder::start(&output).unwrap().into_sink();
        sink(Outcome::Stored(&[ev(EventType::ItemAccepted)]));
        sink(Outcome::Stored(&[ev(EventType::OrderPacked)]));
        sink(Outcome::NotRecorded);
        let mut lines = Vec::new();
        for _ in 0..200 {
            lines = std::fs::read_to_string(&log)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect();
            if !lines.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        assert_eq!(lines.len(), 1, "one cue, the alert: {lines:?}");
        assert!(lines[0].contains("packbench-alert-"), "{lines:?}");
    }

    #[test]
    fn cues_are_valid_wav_files_of_distinct_sound() {
        for (cue, min_secs) in [(Cue::Alert, 0.4), (Cue::Packed, 0.1)] {
            let bytes = wav(cue);
            let r = hound::WavReader::new(std::io::Cursor::new(&bytes)).unwrap();
            let spec = r.spec();
            assert_eq!((spec.channels, spec.sample_rate), (1, 16_000));
            let secs = r.duration() as f32 / 16_000.0;
            assert!(secs >= min_secs && secs < 1.0, "{cue:?}: {secs} s");
            let samples: Vec<i16> = r.into_samples().map(Result::unwrap).collect();
            let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
            assert!(peak > 10_000, "{cue:?} is audible: peak {peak}");
            assert!(
                samples[0].unsigned_abs() < 500,
                "{cue:?} starts without a click"
            );
        }
        assert_ne!(wav(Cue::Alert), wav(Cue::Packed));
    }
}
