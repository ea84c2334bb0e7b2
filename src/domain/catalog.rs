//! The product catalog: SKUs with several barcodes each, case and inner-pack codes.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::barcode::{self, ParsedCode};

/// A barcode printed on a product or on a pack of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BarcodeEntry {
    pub code: String,
    /// Units one scan of this code counts (1 for a single unit, N for a case or inner pack).
    pub units: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sku {
    pub sku: String,
    pub name: String,
    pub barcodes: Vec<BarcodeEntry>,
    pub unit_weight_g: f64,
    /// Extra tolerance per unit for goods whose weight varies (loose tea, hand-cut items).
    pub weight_tolerance_g: Option<f64>,
    pub attributes: Vec<(String, String)>,
}

/// What a scanned code resolved to in the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemMatch {
    pub sku: String,
    pub units: u32,
}

/// Why a set of SKUs is not a catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("barcode {code} is given to both {first} and {second}")]
    SharedBarcode {
        code: String,
        first: String,
        second: String,
    },
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    skus: HashMap<String, Sku>,
    by_key: HashMap<String, ItemMatch>,
}

impl Catalog {
    /// Builds the catalog; a barcode claimed by two SKUs is an error naming both.
    pub fn new(skus: impl IntoIterator<Item = Sku>) -> Result<Self, CatalogError> {
        let mut cat = Catalog::default();
        for sku in skus {
            for b in &sku.barcodes {
                let key = barcode::catalog_key(&b.code);
                if let Some(prev) = cat.by_key.get(&key) {
                    if prev.sku != sku.sku {
                        return Err(CatalogError::SharedBarcode {
                            code: b.code.clone(),
                            first: prev.sku.clone(),
                            second: sku.sku.clone(),
                        });
                    }
                }
                cat.by_key.insert(
                    key,
                    ItemMatch {
                        sku: sku.sku.clone(),
                        units: b.units,
                    },
                );
            }
            cat.skus.insert(sku.sku.clone(), sku);
        }
        Ok(cat)
    }

    pub fn get(&self, sku: &str) -> Option<&Sku> {
        self.skus.get(sku)
    }

    pub fn len(&self) -> usize {
        self.skus.len()
    }

    pub fn is_empty(&self) -> bool {
        self.skus.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Sku> {
        self.skus.values()
    }

    /// Finds the product behind a scan: first by its normalised key (GTIN-14 for every
    /// UPC/EAN/GTIN form and GS1 string), then by the text as scanned.
    /// A case label `(02)GTIN(37)COUNT` counts COUNT of the contained item (times its
    /// own pack size).
    pub fn lookup(&self, code: &ParsedCode) -> Option<ItemMatch> {
        let found = self
            .by_key
            .get(&code.key)
            .or_else(|| self.by_key.get(&code.text))?;
        let count = code.gs1.as_ref().and_then(|g| {
            let contained = g.elements.iter().any(|(a, _)| a == "02");
            let count = g.elements.iter().find(|(a, _)| a == "37")?;
            contained.then(|| count.1.parse::<u32>().ok()).flatten()
        });
        Some(match count {
            Some(n) if n > 0 => ItemMatch {
                sku: found.sku.clone(),
                units: found.units.saturating_mul(n),
            },
            _ => found.clone(),
        })
    }
}

/// Parses the catalog's `barcodes` column: `|`-separated, `CODE*N` for a pack of N.
pub fn parse_barcodes(field: &str) -> Result<Vec<BarcodeEntry>, String> {
    let mut out = Vec::new();
    for part in field.split('|').map(str::trim).filter(|p| !p.is_empty()) {
        let (code, units) = match part.rsplit_once('*') {
            Some((code, n)) => {
                let units: u32 = n
                    .trim()
                    .parse()
                    .map_err(|_| format!("pack size in {part:?} is not a whole number"))?;
                if units == 0 {
                    return Err(format!("pack size in {part:?} must be at least 1"));
                }
                (code.trim(), units)
            }
            None => (part, 1),
        };
        if code.is_empty() {
            return Err(format!("empty barcode in {part:?}"));
        }
        // A GTIN (EAN/UPC, GS1 string) must carry its right check digit: a typo here would
        // make the product unscannable, or another product's.
        if barcode::parse(code).check_digit_error {
            return Err(format!(
                "barcode {code} has a wrong check digit (a typo in the number?)"
            ));
        }
        out.push(BarcodeEntry {
            code: code.to_string(),
            units,
        });
    }
    Ok(out)
}

/// Parses `key=value;key=value`.
pub fn parse_attributes(field: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for part in field.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part
            .split_once('=')
            .ok_or_else(|| format!("attribute {part:?} is not key=value"))?;
        out.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(out)
}
