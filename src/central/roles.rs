//! `packbench central add-bench`: one database role per bench.

use std::io::Read;
use std::path::Path;

use super::conn::{bench_url, Target};
use super::{CentralError, Result};

/// A bench's credentials, shown once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AddedBench {
    pub station_id: String,
    /// The database role: the station id itself.
    pub role: String,
    pub password: String,
    /// `postgres://ROLE:PASSWORD@host:port/db?...` with the admin URL's server and TLS
    /// settings.
    pub url: String,
}

/// Station ids that can become role names: the same rule `pb_add_bench` enforces.
pub fn valid_station_id(s: &str) -> bool {
    (1..=63).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn random_password() -> std::io::Result<String> {
    let mut b = [0u8; 24];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(hex::encode(b))
}

/// A supervisors' console's credentials, shown once.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AddedConsole {
    pub console_id: String,
    /// The database role: the console id itself.
    pub role: String,
    pub password: String,
    pub url: String,
}

/// Benches and consoles: what each login is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bench,
    Console,
}

impl Kind {
    fn word(self) -> &'static str {
        match self {
            Kind::Bench => "bench",
            Kind::Console => "console",
        }
    }
}

/// Creates the bench's role (or gives it a new password when it is already this database's
/// bench) and maps it to the station. `url` is an administrator's (the database's owner,
/// allowed to create roles). A role of that name that is anything else, such as another
/// warehouse's bench on the same server, is refused: never a new password for it.
pub async fn add_bench(
    url: &str,
    password_file: Option<&Path>,
    station_id: &str,
) -> Result<AddedBench> {
    let (role, password, url) = add_login(url, password_file, station_id, Kind::Bench).await?;
    Ok(AddedBench {
        station_id: station_id.to_string(),
        role,
        password,
        url,
    })
}

/// `packbench central add-console ID`: a login for a supervisors' office PC. It reads the
/// floor and marks review items only through the centre's review function, which checks
/// the supervisor's PIN; it cannot write events, claims or master data.
pub async fn add_console(
    url: &str,
    password_file: Option<&Path>,
    console_id: &str,
) -> Result<AddedConsole> {
    let (role, password, url) = add_login(url, password_file, console_id, Kind::Console).await?;
    Ok(AddedConsole {
        console_id: console_id.to_string(),
        role,
        password,
        url,
    })
}

async fn add_login(
    url: &str,
    password_file: Option<&Path>,
    id: &str,
    kind: Kind,
) -> Result<(String, String, String)> {
    let target = Target::parse(url, password_file)?;
    let db = target.db.to_string();
    let refused = |message: String| CentralError::Refused {
        db: db.clone(),
        message,
    };
    if !valid_station_id(id) {
        return Err(refused(format!(
            "{} id {id:?} must be 1 to 63 letters, digits, _ or - (it becomes a database role)",
            kind.word()
        )));
    }
    let lower = id.to_ascii_lowercase();
    if lower == super::CENTRAL_STATION
        || lower.starts_with("pg_")
        || lower.starts_with("pb_")
        || ["public", "postgres", "packbench_bench"].contains(&lower.as_str())
    {
        return Err(refused(format!("{} id {id} is reserved", kind.word())));
    }
    let password = random_password().map_err(|e| CentralError::Config {
        db: db.clone(),
        message: format!("no random password: /dev/urandom: {e}"),
    })?;
    // The server gets the SCRAM verifier, never the password.
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    let (mut client, conn) = target.connect_raw().await?;
    let driver = tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("add-{} connection ended: {e}", kind.word());
        }
    });
    let res = create_login(&mut client, &db, id, &verifier, kind).await;
    drop(client);
    let _ = driver.await;
    let role = res?;
    tracing::info!(db = %db, id = %id, kind = kind.word(), "login role added");
    let url = bench_url(url, &role, &password)?;
    Ok((role, password, url))
}

async fn create_login(
    client: &mut tokio_postgres::Client,
    db: &str,
    id: &str,
    verifier: &str,
    kind: Kind,
) -> Result<String> {
    use super::privileges::{ident, literal, Groups};
    let q = |what: &'static str| {
        let db = db.to_string();
        move |source| CentralError::Query { db, what, source }
    };
    let tx = client
        .transaction()
        .await
        .map_err(q("starting to add the login"))?;
    let r = tx
        .query_one(
            "SELECT current_database() AS database,
                    to_regclass('packbench.console_roles') IS NOT NULL AS ready",
            &[],
        )
        .await
        .map_err(q("reading the database"))?;
    let (database, ready): (String, bool) = (r.get("database"), r.get("ready"));
    if !ready {
        return Err(CentralError::Refused {
            db: db.to_string(),
            message: "the central schema is missing or older than this packbench: run packbench central init first".into(),
        });
    }
    let g = Groups::for_database(&database);
    let group = match kind {
        Kind::Bench => &g.bench,
        Kind::Console => &g.console,
    };
    // Role names are server-wide: a role of this name may belong to another warehouse's
    // database on the same server. Only a direct member of this database's group is ours.
    let existing = tx
        .query_opt(
            "SELECT r.rolsuper OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication OR r.rolbypassrls AS powerful,
                    EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles gr ON gr.oid = m.roleid
                             WHERE m.member = r.oid AND gr.rolname = $2) AS ours
               FROM pg_roles r WHERE r.rolname = $1",
            &[&id, group],
        )
        .await
        .map_err(q("looking for the role"))?;
    let sql = match existing {
        Some(row) if !row.get::<_, bool>("powerful") && row.get::<_, bool>("ours") => {
            // This database's own bench or console again: a new password.
            format!(
                "ALTER ROLE {} WITH LOGIN PASSWORD {}",
                ident(id),
                literal(verifier)
            )
        }
        Some(_) => {
            return Err(CentralError::Refused {
                db: db.to_string(),
                message: format!(
                    "a database role {id} already exists on this server and is not a {} of database {database}                      (role names are server-wide: it may be another warehouse's bench or console, or a person's login);                      nothing was changed: choose another {} id",
                    kind.word(),
                    kind.word()
                ),
            });
        }
        None => format!(
            "CREATE ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT NOREPLICATION NOBYPASSRLS \
             CONNECTION LIMIT 8 PASSWORD {} IN ROLE {}",
            ident(id),
            literal(verifier),
            ident(group)
        ),
    };
    tx.batch_execute(&sql)
        .await
        .map_err(q("creating the login role"))?;
    match kind {
        Kind::Bench => {
            tx.execute(
                "INSERT INTO packbench.bench_roles (role_name, station_id) VALUES ($1, $1)
                 ON CONFLICT DO NOTHING",
                &[&id],
            )
            .await
            .map_err(q("mapping the bench"))?;
            tx.execute(
                "INSERT INTO packbench.bench_heads (station_id) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&id],
            )
            .await
            .map_err(q("adding the bench's head"))?;
        }
        Kind::Console => {
            tx.execute(
                "INSERT INTO packbench.console_roles (role_name, console_id) VALUES ($1, $1)
                 ON CONFLICT DO NOTHING",
                &[&id],
            )
            .await
            .map_err(q("mapping the console"))?;
        }
    }
    tx.commit().await.map_err(q("committing the login"))?;
    Ok(id.to_string())
}
