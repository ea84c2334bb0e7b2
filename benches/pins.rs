//! The PIN check's time (issue 22): `cargo bench --bench pins`.
//!
//! - offline: a bench's own copy, `PinHash::verify` of a right and a wrong PIN (Argon2id,
//!   64 MiB, 3 passes: the cost an attacker with a stolen bench file pays per guess);
//! - online: `Central::check_pin` as a bench role against a throwaway PostgreSQL from the test
//!   rig (unix socket): the salt and cost asked for, the PIN hashed here, the result compared
//!   and counted by the centre. Wrong PINs are spread over employees so none locks.
//!
//! `PB_PIN_RUNS` (20) checks of each kind; the median and the slowest are printed.

#[path = "../tests/pg/mod.rs"]
mod pg;

use std::time::{Duration, Instant};

use packbench::central::{self, Central, PinCheck};
use packbench::domain::pin::Pin;
use packbench::import::{Kind, ReadOptions};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn report(what: &str, mut v: Vec<f64>) {
    v.sort_by(f64::total_cmp);
    println!(
        "{what}: median {:.1} ms, slowest {:.1} ms ({} runs)",
        v[v.len() / 2],
        v[v.len() - 1],
        v.len()
    );
}

fn main() {
    let runs: usize = std::env::var("PB_PIN_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let right = Pin::valid("482193").unwrap();
    let wrong = Pin::new("482194");
    let t = Instant::now();
    let hash = right.hash();
    println!("hash a new PIN: {:.1} ms", ms(t.elapsed()));
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        assert!(hash.verify(&right));
        ok.push(ms(t.elapsed()));
        let t = Instant::now();
        assert!(!hash.verify(&wrong));
        bad.push(ms(t.elapsed()));
    }
    report("offline, right PIN", ok);
    report("offline, wrong PIN", bad);

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let db = pg::fresh_db().await;
        let admin = Central::connect(&db.url, None).unwrap();
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        central::import_file(
            &admin,
            Kind::Employees,
            &fixtures.join("employees.csv"),
            &ReadOptions::default(),
            chrono::Local::now().fixed_offset(),
            &mut |_| {},
        )
        .await
        .unwrap();
        let bench = central::add_bench(&db.url, None, "PIN-BENCH")
            .await
            .unwrap();
        let c = Central::connect(&bench.url, None).unwrap();
        // The fixtures' PINs: each employee number's last digit (six for supervisors).
        let people = [
            ("E001", "1111"),
            ("E002", "2222"),
            ("E003", "3333"),
            ("E004", "4444"),
            ("E005", "555555"),
            ("E006", "666666"),
            ("E007", "7777"),
            ("E008", "8888"),
        ];
        let mut ok = Vec::new();
        let mut bad = Vec::new();
        for i in 0..runs {
            let (id, pin) = people[i % people.len()];
            let t = Instant::now();
            let r = c.check_pin(id, &Pin::new(pin)).await.unwrap();
            ok.push(ms(t.elapsed()));
            assert!(matches!(r, PinCheck::Right { .. }), "{id}: {r:?}");
            let t = Instant::now();
            let r = c.check_pin(id, &Pin::new("000000")).await.unwrap();
            bad.push(ms(t.elapsed()));
            assert!(matches!(r, PinCheck::Wrong { .. }), "{id}: {r:?}");
            // A right PIN clears the count, so no badge locks during the run.
        }
        report("online (centre), right PIN", ok);
        report("online (centre), wrong PIN", bad);
    });
}
