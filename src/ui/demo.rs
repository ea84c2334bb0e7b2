//! The demo station: `packbench` with no config. A fresh database with the fixture data, a
//! printer that writes to a file, and on-screen stand-ins for the scanner and the scale.
//! The fixtures are compiled in, so the demo works from an installed binary too.

use std::path::{Path, PathBuf};

use chrono::Local;

use crate::config::Config;
use crate::domain::commands::COMMANDS;
use crate::domain::Roles;
use crate::import;
use crate::station::app::BoxError;
use crate::store::Store;
use crate::text::Words;

use super::bridge::SimCodes;
use super::CodeButton;

/// The fixtures the demo writes into its folder: the files of [`import::DATA_SET`].
const FIXTURES: [(&str, &str); 4] = [
    ("catalog.csv", include_str!("../../fixtures/catalog.csv")),
    (
        "employees.csv",
        include_str!("../../fixtures/employees.csv"),
    ),
    (
        "packaging.csv",
        include_str!("../../fixtures/packaging.csv"),
    ),
    ("orders.csv", include_str!("../../fixtures/orders.csv")),
];

/// Why the demo's folder or data could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot create the demo folder {}", .0.display())]
    Folder(PathBuf, #[source] std::io::Error),
    #[error("cannot write {}", .0.display())]
    Write(PathBuf, #[source] std::io::Error),
    #[error("the demo database")]
    Database(#[source] BoxError),
    #[error("demo import")]
    Import(#[source] import::ImportFileError),
    #[error("demo config")]
    Config(#[source] toml::de::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Fixtures(#[from] csv::Error),
}

type Result<T, E = DemoError> = std::result::Result<T, E>;

pub struct Demo {
    pub dir: PathBuf,
    pub db: PathBuf,
    pub labels: PathBuf,
    pub cfg: Config,
    pub sim: SimCodes,
}

/// A folder of its own per run, so every demo starts with all orders still to pack.
pub fn default_dir() -> PathBuf {
    std::env::temp_dir().join(format!("packbench-demo-{}", std::process::id()))
}

/// Writes the fixtures into `dir`, imports them into `dir/demo.db` and builds the config.
pub fn prepare(dir: &Path) -> Result<Demo> {
    prepare_as(dir, "DEMO-01")
}

/// The demo data for a bench named `station_id` (its log's events carry that id from the
/// first import, so the bench can also join a centre: a log is one bench's own).
pub fn prepare_as(dir: &Path, station_id: &str) -> Result<Demo> {
    std::fs::create_dir_all(dir.join("fixtures")).map_err(|e| DemoError::Folder(dir.into(), e))?;
    let db = dir.join("demo.db");
    // The file printer wants an absolute path.
    let labels = std::path::absolute(dir.join("labels.bin"))?;
    let mut store = crate::store::open(&db).map_err(|e| DemoError::Database(e.into()))?;
    for (name, text) in FIXTURES {
        let path = dir.join("fixtures").join(name);
        std::fs::write(&path, text).map_err(|e| DemoError::Write(path.clone(), e))?;
    }
    import::import_data_set(
        &mut store,
        &dir.join("fixtures"),
        station_id,
        Local::now().fixed_offset(),
    )
    .map_err(DemoError::Import)?;
    let quoted = |s: String| toml::Value::String(s).to_string();
    let mut cfg: Config = toml::from_str(&format!(
        "station_id = {}\ndatabase = {}\n[printer]\ntarget = {}\nchinese = true\n",
        quoted(station_id.to_string()),
        quoted(db.display().to_string()),
        quoted(format!("file://{}", labels.display())),
    ))
    .map_err(DemoError::Config)?;
    cfg.base_dir = dir.to_path_buf();
    let sim = sim_codes(&store, &labels)?;
    Ok(Demo {
        dir: dir.to_path_buf(),
        db,
        labels,
        cfg,
        sim,
    })
}

fn button(label: String, code: &str) -> CodeButton {
    CodeButton {
        label: label.into(),
        code: code.into(),
    }
}

/// The codes on the simulated scanner panel: badges, orders, the command sheet, and each
/// SKU's barcodes (the panel shows those of the open order).
pub fn sim_codes<S: Store>(store: &S, labels: &Path) -> Result<SimCodes> {
    let mut badges = Vec::new();
    let mut rdr = csv::Reader::from_reader(FIXTURES[1].1.as_bytes());
    for row in rdr.records() {
        let row = row?;
        let (id, name, roles, badge) = (&row[0], &row[1], &row[2], &row[3]);
        // The fixture's own roles: a field that does not read is shown as it is.
        let roles = Roles::parse(roles)
            .map(Roles::words)
            .unwrap_or_else(|_| Words::same(roles.to_string()));
        badges.push((
            Words {
                en: format!("{name} {id} · {}", roles.en),
                zh: format!("{name} {id} · {}", roles.zh),
            },
            badge.to_string(),
        ));
    }
    let mut orders: Vec<CodeButton> = Vec::new();
    let mut rdr = csv::Reader::from_reader(FIXTURES[3].1.as_bytes());
    for row in rdr.deserialize::<std::collections::HashMap<String, String>>() {
        let row = row?;
        let no = row.get("order_no").cloned().unwrap_or_default();
        if orders.iter().any(|o| o.code == no.as_str()) {
            continue;
        }
        let status = row.get("status").map(String::as_str).unwrap_or("");
        let carrier = row.get("carrier").cloned().unwrap_or_default();
        let label = if status.is_empty() {
            format!("{no} · {carrier}")
        } else {
            format!("{no} · {carrier} · {status}")
        };
        orders.push(button(label, &no));
    }
    let commands = COMMANDS
        .iter()
        .map(|(c, meaning)| button(meaning.to_string(), c.code()))
        .collect();
    let catalog = store
        .load_catalog()
        .map_err(|e| DemoError::Database(e.into()))?
        .into_iter()
        .map(|s| {
            let codes = s
                .barcodes
                .iter()
                .map(|b| (b.code.clone(), b.units))
                .collect();
            (s.sku, codes)
        })
        .collect();
    Ok(SimCodes {
        badges,
        orders,
        commands,
        catalog,
        printer_file: labels.display().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_folder_has_the_fixtures_and_a_file_printer() {
        let dir = std::env::temp_dir().join(format!(
            "packbench-demo-test-{}-{}",
            std::process::id(),
            line!()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let d = prepare(&dir).unwrap();
        use crate::store::ReferenceData;
        let store = crate::store::open(&d.db).unwrap();
        assert!(store.find_order("TB20261122001").unwrap().is_some());
        assert!(store.employee_by_badge("BADGE-E005").unwrap().is_some());
        let target = &d.cfg.printer.as_ref().unwrap().target;
        assert_eq!(target.to_string(), format!("file://{}", d.labels.display()));
        crate::station::app::check(&d.cfg).expect("the demo config is valid");
        assert_eq!(d.sim.orders.len(), 30);
        assert!(d.sim.badges.iter().any(|(_, code)| code == "BADGE-E003"));
        assert!(d.sim.commands.iter().any(|b| b.code == "PB-UNDO"));
        assert_eq!(
            d.sim.catalog["LATIAO-106"],
            vec![
                ("6924187710603".to_string(), 1),
                ("16924187710600".to_string(), 12)
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
