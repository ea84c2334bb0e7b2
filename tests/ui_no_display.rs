//! Without a display `packbench` says how to run headless and exits non-zero, no panic.

#[path = "common/bin.rs"]
mod bin;

#[test]
fn no_display_gives_one_clear_message() {
    let dir = std::env::temp_dir().join(format!("packbench-nodisplay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for args in [&[][..], &["run", "--config", "station.toml"][..]] {
        if !args.is_empty() {
            std::fs::write(dir.join("station.toml"), "station_id = \"B1\"\n").unwrap();
        }
        let out = bin::Pb::new().args(args).dir(&dir).no_display().output();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}: exit {:?}", out.status);
        assert!(
            err.contains("packbench run --config station.toml --headless"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
