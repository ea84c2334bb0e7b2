//! The central schema, as numbered migrations recorded in `schema_version`. `init` applies
//! the missing ones in one transaction under an advisory lock, so running it on every deploy
//! (or from two deploys at once) is safe.
//!
//! The SQL is in `sql/`: one file per migration and `routines.sql`, the functions replaced on
//! every run. Who may do what is decided in `privileges.rs`: bench roles get SELECT on the
//! master data (never a PIN hash) and EXECUTE on the `pb_*` bench functions, nothing else.
//! Those functions are `SECURITY DEFINER` and check that the station they are asked to act
//! for is the one mapped to the calling role (`bench_roles`), so a bench cannot write another
//! station's events, claims or heads. The event log refuses UPDATE, DELETE and TRUNCATE by
//! triggers.

use super::{Central, CentralError};

/// The pseudo-station whose chain holds the events the centre itself records (imports,
/// supervisor releases, claim conflicts).
pub const CENTRAL_STATION: &str = "central";

/// Serialises writers of master data so change ids become visible in order (see
/// `pb_master_lock`).
pub(crate) const MASTER_LOCK: i64 = 8_061_907_160_153_960_471;
const MIGRATE_LOCK: i64 = 8_061_907_160_153_960_470;

/// The numbered migrations, in order; a centre records how many it has applied. Tables and
/// data change only here, never in an applied file.
pub const MIGRATIONS: &[&str] = &[
    include_str!("sql/001_base.sql"),
    include_str!("sql/002_pins.sql"),
    include_str!("sql/003_supervision.sql"),
    include_str!("sql/004_floor.sql"),
    include_str!("sql/005_trust.sql"),
    include_str!("sql/006_waiting.sql"),
];

/// Functions created or replaced on every `init`, after the migrations.
const ROUTINES: &str = include_str!("sql/routines.sql");

/// What `central init` did, for the administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitReport {
    /// The schema version now in place.
    pub version: u32,
    /// A centre made before the `packbench` schema was moved into it.
    pub moved_from_public: bool,
    /// PUBLIC could create in schema `public` and no longer can.
    pub public_create_revoked: bool,
    /// The database's roles (see `privileges.rs`).
    pub groups: super::privileges::Groups,
}

/// Creates or migrates the central schema (`packbench central init`). Idempotent; returns
/// the schema version now in place. Needs the database's owner, with the right to create
/// roles (the database's owner, bench and console roles are created on first use).
pub async fn init(url: &str, password_file: Option<&std::path::Path>) -> Result<u32, CentralError> {
    Ok(init_report(url, password_file).await?.version)
}

/// [`init`], saying what it changed.
pub async fn init_report(
    url: &str,
    password_file: Option<&std::path::Path>,
) -> Result<InitReport, CentralError> {
    use super::privileges::{self, Groups};
    let target = super::conn::Target::parse(url, password_file)?;
    let (mut client, conn) = target.connect_raw().await?;
    let driver = tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("central init connection ended: {e}");
        }
    });
    let db = target.db.to_string();
    let q = |what: &'static str| {
        let db = db.clone();
        move |source| CentralError::Query { db, what, source }
    };
    let row = client
        .query_one(
            "SELECT current_setting('server_encoding') AS encoding, current_database() AS database",
            &[],
        )
        .await
        .map_err(q("reading the server encoding"))?;
    let (encoding, database): (String, String) = (row.get("encoding"), row.get("database"));
    if encoding != "UTF8" {
        return Err(CentralError::Refused {
            db: db.clone(),
            message: format!(
                "the database's encoding is {encoding}; packbench needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8')"
            ),
        });
    }
    let groups = Groups::for_database(&database);
    let tx = client
        .transaction()
        .await
        .map_err(q("starting the migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])
        .await
        .map_err(q("locking the schema for migration"))?;
    let prepared = privileges::prepare(&tx, &groups)
        .await
        .map_err(q("creating the database's roles and schema"))?;
    // Objects are created in the schema; pg_catalog stays first (implicitly).
    tx.batch_execute(&format!(
        "SET LOCAL search_path = {schema};
         CREATE TABLE IF NOT EXISTS schema_version (
            version integer PRIMARY KEY,
            applied_at timestamptz NOT NULL DEFAULT now())",
        schema = privileges::SCHEMA
    ))
    .await
    .map_err(q("creating schema_version"))?;
    let have: i32 = tx
        .query_one(
            "SELECT coalesce(max(version), 0) AS version FROM schema_version",
            &[],
        )
        .await
        .map_err(q("reading schema_version"))?
        .get("version");
    if have as usize > MIGRATIONS.len() {
        return Err(CentralError::Refused {
            db: db.clone(),
            message: format!(
                "central schema version {have} is newer than this packbench understands ({}); upgrade packbench",
                MIGRATIONS.len()
            ),
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(have as usize) {
        tx.batch_execute(sql)
            .await
            .map_err(q("applying a schema migration"))?;
        let v = (i + 1) as i32;
        tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&v])
            .await
            .map_err(q("recording the schema version"))?;
        tracing::info!(db = %db, version = v, "central schema migrated");
    }
    tx.batch_execute(ROUTINES)
        .await
        .map_err(q("creating the schema's functions"))?;
    let applied = privileges::apply(&tx, &groups, &database)
        .await
        .map_err(q("setting the schema's owner and privileges"))?;
    tx.commit().await.map_err(q("committing the migration"))?;
    drop(client);
    let _ = driver.await;
    Ok(InitReport {
        version: MIGRATIONS.len() as u32,
        moved_from_public: prepared.moved_from_public,
        public_create_revoked: applied.public_create_revoked,
        groups,
    })
}

impl Central {
    /// The schema version of the connected database (0 before `init`).
    pub async fn schema_version(&self) -> Result<u32, CentralError> {
        let client = self.client().await?;
        let row = client
            .query_one(
                "SELECT CASE WHEN to_regclass('schema_version') IS NULL THEN 0
                        ELSE (SELECT coalesce(max(version), 0) FROM schema_version) END AS version",
                &[],
            )
            .await
            .map_err(|e| self.query_err("reading the schema version", e))?;
        let version: i32 = row
            .try_get("version")
            .map_err(|e| self.query_err("reading the schema version", e))?;
        Ok(version as u32)
    }
}
