//! The bench database's schema: its migrations, the triggers that keep the log append-only,
//! and how every connection is set up.

use rusqlite::config::DbConfig;
use rusqlite::Connection;

use super::super::Result;
#[cfg(any(test, feature = "testing"))]
use crate::killpoint::{self, Point};

/// A testing aid for the power-cut harness (`tests/power.rs`): `PACKBENCH_TEST_SYNCHRONOUS=OFF`
/// opens the store with `synchronous=OFF`, so that the harness can show it finds the events
/// such a store loses at a power cut. Never set it on a bench. Any other value is ignored.
pub const TEST_SYNCHRONOUS_VAR: &str = "PACKBENCH_TEST_SYNCHRONOUS";

/// `FULL`, unless the power-cut harness's switch asks for `OFF`.
pub(super) fn synchronous() -> &'static str {
    synchronous_for(std::env::var(TEST_SYNCHRONOUS_VAR).ok().as_deref())
}

fn synchronous_for(setting: Option<&str>) -> &'static str {
    match setting {
        Some("OFF") => {
            tracing::warn!(
                "{TEST_SYNCHRONOUS_VAR}=OFF: the store runs with synchronous=OFF and a power \
                 cut will lose acknowledged events; a testing aid only, never for a bench"
            );
            "OFF"
        }
        Some(v) => {
            tracing::warn!("{TEST_SYNCHRONOUS_VAR}={v:?} ignored: only OFF is understood");
            "FULL"
        }
        None => "FULL",
    }
}

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: base schema
    r#"
    CREATE TABLE skus (
        sku TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        barcodes TEXT NOT NULL,
        unit_weight_g REAL NOT NULL,
        weight_tolerance_g REAL,
        attributes TEXT NOT NULL
    );
    CREATE TABLE orders (
        order_no TEXT PRIMARY KEY,
        waybill_no TEXT NOT NULL,
        carrier TEXT NOT NULL,
        recipient TEXT NOT NULL,
        country TEXT NOT NULL,
        address TEXT NOT NULL,
        buyer_note TEXT NOT NULL,
        lines TEXT NOT NULL,
        picker_id TEXT,
        cancelled INTEGER NOT NULL DEFAULT 0,
        version TEXT NOT NULL
    );
    CREATE INDEX orders_waybill ON orders(waybill_no);
    CREATE TABLE employees (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        roles TEXT NOT NULL,
        badge TEXT NOT NULL UNIQUE
    );
    CREATE TABLE packaging (
        code TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        tare_g REAL NOT NULL
    );
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        type TEXT NOT NULL,
        actor TEXT,
        station_id TEXT NOT NULL,
        order_no TEXT,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX events_order ON events(order_no, seq) WHERE order_no IS NOT NULL;
    CREATE INDEX events_type ON events(type, seq);
    CREATE INDEX events_station ON events(station_id, seq);
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: UPDATE refused'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: DELETE refused'); END;
    "#,
    // 2: a counter every reference-data write bumps, so a running bench sees an import
    r#"
    CREATE TABLE reference_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
    INSERT INTO reference_version (id, version) VALUES (1, 0);
    "#,
    // 3: how far this bench's copy of the central master data goes
    r#"
    CREATE TABLE central_copy (id INTEGER PRIMARY KEY CHECK (id = 1), change_id INTEGER NOT NULL);
    INSERT INTO central_copy (id, change_id) VALUES (1, 0);
    "#,
    // 4: PINs (Argon2id hashes only) and inactive employees
    r#"
    ALTER TABLE employees ADD COLUMN pin_hash TEXT;
    ALTER TABLE employees ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
    "#,
    // 5: `INSERT OR REPLACE` / `REPLACE INTO` deletes the old row without firing the delete
    // trigger (no recursive triggers), so the log refuses any insert that is not a new seq
    // after the head, whatever its conflict clause.
    r#"
    CREATE TRIGGER events_append_only BEFORE INSERT ON events
        WHEN NEW.seq <= (SELECT coalesce(max(seq), 0) FROM events)
        BEGIN SELECT RAISE(ABORT, 'the event log is append-only: REPLACE refused'); END;
    "#,
    // 6: the head the last start verified (seq 0: none yet), the anchor of the next start's
    // check. The row is there from the start, so a deleted row is itself a finding.
    r#"
    CREATE TABLE verified_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
    INSERT INTO verified_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
    "#,
];

/// The triggers that keep the log append-only; a bench checks at start that each is there with
/// exactly the SQL the station creates ([`created_trigger_sql`]).
pub const LOG_TRIGGERS: &[&str] = &["events_no_update", "events_no_delete", "events_append_only"];

/// The migration that creates `verified_head` (the version from which a file must have it).
pub(super) const VERIFIED_HEAD_VERSION: usize = 6;

/// `sql` with every run of whitespace made one space, trimmed: how a trigger's stored text is
/// compared with the station's (SQLite keeps the text as written, indentation and all).
pub(super) fn normalise_ws(sql: &str) -> String {
    sql.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The `CREATE TRIGGER` statement for `name` exactly as the migrations create it (up to its
/// `END`, without the `;`, as SQLite stores it in `sqlite_master.sql`), whitespace normalised.
/// Taken from [`MIGRATIONS`] themselves, so the check can never drift from what is created.
pub fn created_trigger_sql(name: &str) -> Option<String> {
    let head = format!("CREATE TRIGGER {name} ");
    MIGRATIONS.iter().find_map(|m| {
        let start = m.find(&head)?;
        let len = m[start..].find("END;")? + "END".len();
        Some(normalise_ws(&m[start..start + len]))
    })
}

/// Every connection the store opens: SQLite's defensive mode, so no statement on it can write
/// the schema behind SQLite's back (`PRAGMA writable_schema`, `sqlite_dbpage`, shadow tables)
/// or turn the journal off.
pub(super) fn harden(conn: &Connection) -> Result<()> {
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    Ok(())
}

/// The crash harness's kill point inside a commit (see `killpoint`), when it is armed: SQLite's
/// commit hook. Returning false lets the commit go on.
#[cfg(any(test, feature = "testing"))]
pub(super) fn arm_commit_kill_point(conn: &mut Connection) -> Result<()> {
    if killpoint::armed_at(Point::InsideCommit) {
        conn.commit_hook(Some(|| {
            killpoint::in_commit_hook();
            false
        }))?;
    }
    Ok(())
}

/// Builds without the `testing` feature (every station in service) have no kill points.
#[cfg(not(any(test, feature = "testing")))]
pub(super) fn arm_commit_kill_point(_: &mut Connection) -> Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The power-cut harness's switch: only `OFF` turns durability off; anything else, or
    /// nothing, keeps `FULL`. (The variable itself is not set here: tests share the process.)
    #[test]
    fn only_the_test_switch_set_to_off_turns_synchronous_off() {
        assert_eq!(synchronous_for(None), "FULL");
        assert_eq!(synchronous_for(Some("OFF")), "OFF");
        assert_eq!(synchronous_for(Some("off")), "FULL");
        assert_eq!(synchronous_for(Some("NORMAL")), "FULL");
    }
}
