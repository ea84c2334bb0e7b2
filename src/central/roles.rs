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

/// Creates the bench's role (or gives it a new password when it exists) and maps it to the
/// station. `url` is an administrator's (a role that may create roles).
pub async fn add_bench(
    url: &str,
    password_file: Option<&Path>,
    station_id: &str,
) -> Result<AddedBench> {
    let target = Target::parse(url, password_file)?;
    let db = target.db.to_string();
    if !valid_station_id(station_id) {
        return Err(CentralError::Refused {
            db,
            message: format!(
                "station id {station_id:?} must be 1 to 63 letters, digits, _ or - (it becomes the bench's database role)"
            ),
        });
    }
    let password = random_password().map_err(|e| CentralError::Config {
        db: db.clone(),
        message: format!("no random password: /dev/urandom: {e}"),
    })?;
    // The server gets the SCRAM verifier, never the password.
    let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
    let (client, conn) = target.connect_raw().await?;
    let driver = tokio::spawn(async move {
        if let Err(e) = conn.await {
            tracing::debug!("add-bench connection ended: {e}");
        }
    });
    let res = client
        .query_one(
            "SELECT pb_add_bench($1, $2)",
            &[&station_id, &verifier.as_str()],
        )
        .await
        .map_err(|source| CentralError::Query {
            db: db.clone(),
            what: "adding the bench",
            source,
        });
    drop(client);
    let _ = driver.await;
    let role: String = res?.get(0);
    tracing::info!(db = %db, station = %station_id, "bench role added");
    let url = bench_url(url, &role, &password)?;
    Ok(AddedBench {
        station_id: station_id.to_string(),
        role,
        password,
        url,
    })
}
