//! packbench::import on arbitrary bytes saved as `x.csv`: read_rows + parse_catalog /
//! parse_orders / parse_employees / parse_packaging.
//!
//! Properties: no panic; every failure is an ImportError naming this file with a place and a
//! message; rows carry the file's SHA-256 and are numbered in order; whatever is accepted
//! keeps every row, has unique trimmed non-empty keys (sku, order_no, waybill, employee id,
//! badge, packaging code), finite non-negative weights, quantities of at least 1, known SKUs,
//! and an accepted catalog builds; orders are never accepted against an empty catalog.
#![no_main]

#[path = "../common/import.rs"]
mod import;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    import::run(data, "csv");
});
