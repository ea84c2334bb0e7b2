//! Matching the file's column names to the contract's: the user's map, the contract's names,
//! the built-in Chinese ones.

#[allow(unused_imports)]
use super::*;

/// A column name as matched: no spaces, ASCII lower case, full-width brackets as ASCII.
pub fn header_key(header: &str) -> String {
    header
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{feff}')
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Checks a column map for `kind`: every target is a contract column or `""`.
pub fn check_map(kind: Kind, map: &HashMap<String, String>) -> Result<(), ColumnMapError> {
    let mut entries: Vec<_> = map.iter().collect();
    entries.sort();
    for (header, column) in entries {
        let column = column.trim();
        if !column.is_empty() && kind.column(column).is_none() {
            return Err(ColumnMapError {
                header: header.clone(),
                column: column.to_string(),
                kind,
            });
        }
    }
    Ok(())
}

/// A column map entry naming no column of its kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{header:?} = {column:?}: {column:?} is not a column of {} ({}, or \"\" for not imported)",
    kind.name(),
    kind.columns().collect::<Vec<_>>().join(", ")
)]
pub struct ColumnMapError {
    pub header: String,
    pub column: String,
    pub kind: Kind,
}

/// Which contract column each of the file's columns holds (`None`: extra, not imported).
/// The user's map comes first, then the contract's names, then the built-in ones; a column
/// claimed at a stronger level leaves the weaker claims extra, and two claims at one level
/// are an error rather than a guess.
pub(super) fn resolve(
    kind: Kind,
    headers: &[String],
    map: &HashMap<String, String>,
) -> Result<Vec<Option<&'static str>>, ResolveError> {
    let user: HashMap<String, &str> = map.iter().map(|(h, c)| (header_key(h), c.trim())).collect();
    let mut picks: Vec<Option<(&'static str, u8)>> = Vec::with_capacity(headers.len());
    for h in headers {
        let key = header_key(h);
        let pick = match user.get(&key) {
            Some(&"") => None,
            Some(c) => Some((
                kind.column(c).ok_or_else(|| ResolveError::NoSuchColumn {
                    header: h.clone(),
                    column: c.to_string(),
                    kind,
                })?,
                3,
            )),
            None => match kind.column(&key) {
                Some(c) => Some((c, 2)),
                None => kind
                    .aliases()
                    .iter()
                    .find(|(a, _)| *a == key)
                    .map(|(_, c)| (*c, 1)),
            },
        };
        picks.push(pick);
    }
    let mut out = vec![None; headers.len()];
    for col in kind.columns() {
        let Some(best) = picks
            .iter()
            .flatten()
            .filter(|p| p.0 == col)
            .map(|p| p.1)
            .max()
        else {
            continue;
        };
        let at: Vec<usize> = (0..headers.len())
            .filter(|&i| picks[i] == Some((col, best)))
            .collect();
        if let [a, b, ..] = at[..] {
            return Err(ResolveError::BothHold {
                first: headers[a].clone(),
                second: headers[b].clone(),
                column: col,
                kind,
            });
        }
        out[at[0]] = Some(col);
    }
    Ok(out)
}

/// The file's columns cannot be told apart, or the map sends one nowhere.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum ResolveError {
    #[error("the column map sends {header:?} to {column:?}, which is not a column of {}", kind.name())]
    NoSuchColumn {
        header: String,
        column: String,
        kind: Kind,
    },
    #[error("columns {first:?} and {second:?} both hold {column}: map the one not to import to \"\" (a column map, e.g. [import.{}] in the config)", kind.name())]
    BothHold {
        first: String,
        second: String,
        column: &'static str,
        kind: Kind,
    },
}

pub(super) fn missing_required(
    kind: Kind,
    headers: &[String],
    cols: &[Option<&'static str>],
) -> Option<String> {
    let r = kind
        .required()
        .iter()
        .find(|r| !cols.contains(&Some(**r)))?;
    Some(format!(
        "required column {r:?} is missing (found: {}; a column of another name can be mapped to it in [import.{}] of the config or a column map)",
        headers.join(","),
        kind.name()
    ))
}

/// A column map file (`--map`) that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MapFileError {
    #[error("cannot read the column map {}", path.display())]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("column map {} is not valid: {message}", path.display())]
    Toml {
        path: std::path::PathBuf,
        message: String,
    },
    #[error("column map {}: {header:?} must be given a column name in quotes, e.g. {header:?} = \"sku\"", path.display())]
    NotText {
        path: std::path::PathBuf,
        header: String,
    },
    #[error("column map {}: {error}", path.display())]
    Column {
        path: std::path::PathBuf,
        error: ColumnMapError,
    },
}

impl ReadOptions {
    /// Adds the entries of a TOML column map file (`"Column in the file" = "column"`), checked
    /// for `kind`, on top of the map already given.
    pub fn add_map_file(&mut self, kind: Kind, path: &Path) -> Result<(), MapFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| MapFileError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let table: toml::Table = toml::from_str(&text).map_err(|e| MapFileError::Toml {
            path: path.to_path_buf(),
            message: e.message().to_string(),
        })?;
        let mut entries = HashMap::new();
        for (header, column) in table {
            let Some(column) = column.as_str() else {
                return Err(MapFileError::NotText {
                    path: path.to_path_buf(),
                    header,
                });
            };
            entries.insert(header, column.to_string());
        }
        check_map(kind, &entries).map_err(|error| MapFileError::Column {
            path: path.to_path_buf(),
            error,
        })?;
        for (header, column) in &entries {
            self.map_column(header, column);
        }
        Ok(())
    }
}
