//! The one fixture loader: where the fixture files are and the data set they make. The
//! data set's files and order are the library's own (`packbench::import::DATA_SET`), so the
//! tests import exactly what `packbench` imports.
//!
//! Self-contained, so `tests/harness` and the benches can take this file alone:
//! `#[path = "../common/fixtures.rs"] mod fixtures;`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

pub use packbench::import::DATA_SET;

/// The fixtures folder (see fixtures/README.md).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// One fixture file.
pub fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

/// The data set as `(kind, file)`, in import order: the fixtures' files, or `orders` when
/// given (a generated order list over the fixture catalog).
pub fn data_set(orders: Option<&Path>) -> Vec<(packbench::import::Kind, PathBuf)> {
    DATA_SET
        .into_iter()
        .map(|(kind, file)| match (kind, orders) {
            (packbench::import::Kind::Orders, Some(o)) => (kind, o.to_path_buf()),
            _ => (kind, fixture(file)),
        })
        .collect()
}
