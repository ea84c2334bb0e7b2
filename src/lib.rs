//! packbench: the pick-pack-verify station. The binary (`src/main.rs`) is a thin CLI over
//! this library so that tests and benchmarks drive the same code the station runs.

pub mod audit;
pub mod central;
pub mod config;
pub mod domain;
pub mod import;
pub mod killpoint;
pub mod logging;
pub mod sheets;
pub mod simulate;
pub mod station;
pub mod store;
pub mod text;
pub mod ui;
