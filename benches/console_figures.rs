//! The supervisors' console against a loaded central database: the window on Slint's
//! testing backend (software renderer), its worker and the real queries. Figures, not
//! assertions:
//!
//! ```sh
//! PB_CENTRAL_URL=postgresql://... cargo bench --bench console_figures
//! ```
//!
//! The database is one loaded before, e.g. by `cargo bench --bench central_floor -- audit`
//! (its fixtures' supervisor E005 signs in with PIN 555555; `PB_CONSOLE_BADGE` and
//! `PB_CONSOLE_PIN` name another). "Now" is the newest event's time, so "today" is the
//! loaded shift. Each step is timed from the callback to the redrawn frame; the board's and
//! queue's database time is the worker's own measure.

#[path = "../tests/ui_harness/mod.rs"]
mod ui_harness;

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, FixedOffset, Utc};
use packbench::central::Central;
use packbench::ui::console::{Console, Setup, SharedClock};
use packbench::ui::{ConsoleTab, ConsoleWindow, Floor};
use slint::{ComponentHandle, LogicalSize, Model};

fn status_kib(key: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn summary(v: &mut [f64]) -> String {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let q = |p: f64| v[((v.len() as f64 - 1.0) * p).round() as usize];
    format!(
        "p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} samples)",
        q(0.5),
        q(0.99),
        v[v.len() - 1],
        v.len()
    )
}

fn main() {
    let url = std::env::var("PB_CENTRAL_URL")
        .expect("console_figures reads a loaded central database at PB_CENTRAL_URL");
    let badge = std::env::var("PB_CONSOLE_BADGE").unwrap_or_else(|_| "BADGE-E005".into());
    let pin = std::env::var("PB_CONSOLE_PIN").unwrap_or_else(|_| "555555".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (newest, sample): (DateTime<Utc>, Vec<String>) = rt.block_on(async {
        let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        let newest = c
            .query_one("SELECT max(at_ts) FROM events", &[])
            .await
            .unwrap()
            .get(0);
        let sample = c
            .query(
                "SELECT waybill_no FROM orders TABLESAMPLE SYSTEM (1) LIMIT 30",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        (newest, sample)
    });
    let now: DateTime<FixedOffset> = newest.fixed_offset();
    let start = Instant::now();
    let clock: SharedClock =
        Arc::new(move || now + chrono::Duration::milliseconds(start.elapsed().as_millis() as i64));
    ui_harness::init_backend();
    let rss0 = status_kib("VmRSS:");
    let window = ConsoleWindow::new().unwrap();
    window.window().set_size(LogicalSize::new(1280.0, 800.0));
    let console = Console::start(
        window,
        Setup {
            central: Central::connect(&url, None).unwrap(),
            exports: std::env::temp_dir().join("packbench-console-figures"),
            clock,
            wake_event_loop: false,
            // Measured without sound: no player is started.
            sound: packbench::station::sound::Output::Silent {
                reason: packbench::text!("settings.sound_off_config"),
            },
        },
    )
    .unwrap();
    console.window.show().unwrap();
    let f = console.window.global::<Floor>();
    let settle = || assert!(console.settle() && console.settle(), "no answer");
    let frame = || {
        console.window.window().take_snapshot().unwrap();
    };
    println!(
        "console_figures: {} build, events up to {newest}",
        if cfg!(debug_assertions) {
            "unoptimised (test profile)"
        } else {
            "optimised"
        }
    );
    f.invoke_sign_in(badge.into(), pin.into());
    settle();
    assert_eq!(
        f.get_page(),
        packbench::ui::ConsolePage::Floor,
        "{}",
        f.get_sign_in_message()
    );
    frame();

    // The board: what the 2 s timer does, 20 times.
    let mut whole = Vec::new();
    let mut db = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        f.invoke_refresh();
        settle();
        frame();
        whole.push(t.elapsed().as_secs_f64() * 1000.0);
        let s = f.get_status().to_string();
        if let Some(ms) = s
            .split(" in ")
            .nth(1)
            .and_then(|x| x.trim_end_matches(" ms").parse::<f64>().ok())
        {
            db.push(ms);
        }
    }
    println!(
        "  board ({} benches): database (board + hours) {}; refresh to redrawn frame {}",
        f.get_board().row_count(),
        summary(&mut db),
        summary(&mut whole)
    );
    let rss_board = status_kib("VmRSS:");
    // The floor of 200 benches as the supervisor sees it.
    if let Some(dir) = std::env::var_os("PACKBENCH_SCREENSHOTS") {
        let img = console.window.window().take_snapshot().unwrap();
        let path = std::path::Path::new(&dir).join("console-06-board-many-benches-en-1280x800.png");
        ui_harness::write_png(&path, img.width(), img.height(), img.as_bytes());
        println!("  wrote {}", path.display());
    }

    f.set_tab(ConsoleTab::Review);
    let mut review = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        f.invoke_refresh();
        settle();
        frame();
        review.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "  review queue ({} items): refresh to redrawn frame {}",
        f.get_review().row_count(),
        summary(&mut review)
    );

    f.set_tab(ConsoleTab::Search);
    let mut typed = Vec::new();
    for w in &sample {
        let chars: Vec<char> = w.chars().collect();
        for n in 3..=chars.len() {
            let text: String = chars[..n].iter().collect();
            let t = Instant::now();
            f.invoke_search(text.into());
            settle();
            frame();
            typed.push(t.elapsed().as_secs_f64() * 1000.0);
        }
    }
    println!(
        "  search as you type ({} waybills from their start, a keystroke each): keystroke to \
         redrawn hits {}",
        sample.len(),
        summary(&mut typed)
    );

    f.set_tab(ConsoleTab::Reports);
    let day = now.date_naive().to_string();
    let t = Instant::now();
    f.invoke_report(day.clone().into(), day.into());
    settle();
    frame();
    println!(
        "  report of the day with 8 weeks of packers' error rates ({} packers): {:.0} ms",
        f.get_per_packer().row_count(),
        t.elapsed().as_secs_f64() * 1000.0
    );
    println!(
        "  memory: RSS {:.1} MiB before the window, {:.1} MiB with the board drawn, {:.1} MiB \
         at the end, peak {:.1} MiB",
        mib(rss0),
        mib(rss_board),
        mib(status_kib("VmRSS:")),
        mib(status_kib("VmHWM:"))
    );
    console.shutdown();
}
