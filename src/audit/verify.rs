//! `audit verify`: the whole event log checked, from the bench's database or an exported
//! log, against a checkpoint kept elsewhere when one is given.

use std::path::{Path, PathBuf};

use crate::store::{self, Checkpoint, EventLog, StoreError, VerifyReport};

/// What is checked.
pub enum LogSource<'a> {
    /// The bench's database, opened read only.
    Database(&'a Path),
    /// An export (`audit export --format jsonl`).
    Export(&'a Path),
}

/// Why the log could not be checked at all (a log checked and found broken is a report).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("cannot read checkpoint {}", path.display())]
    ReadCheckpoint {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("checkpoint {} is not a packbench checkpoint", path.display())]
    NotACheckpoint {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("cannot read {}", path.display())]
    ReadExport {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Export { path: PathBuf, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Reads a checkpoint file written by `audit checkpoint`.
pub fn read_checkpoint(path: &Path) -> Result<Checkpoint, CheckError> {
    let text = std::fs::read_to_string(path).map_err(|source| CheckError::ReadCheckpoint {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| CheckError::NotACheckpoint {
        path: path.to_path_buf(),
        source,
    })
}

/// Checks the chain of `source` from its first event, and that `checkpoint`'s event is still
/// the one it recorded.
pub fn check_log(
    source: LogSource,
    checkpoint: Option<&Checkpoint>,
) -> Result<VerifyReport, CheckError> {
    match source {
        LogSource::Export(path) => {
            let text = std::fs::read_to_string(path).map_err(|source| CheckError::ReadExport {
                path: path.to_path_buf(),
                source,
            })?;
            store::chain::verify_export(&text, checkpoint).map_err(|e| CheckError::Export {
                path: path.to_path_buf(),
                message: e.to_string(),
            })
        }
        LogSource::Database(path) => Ok(store::open_read_only(path)?.verify(checkpoint)?),
    }
}
