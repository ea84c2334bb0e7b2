//! The station runtime. `Bench` ties the pure engine to a store: it resolves what a scan is,
//! asks the engine, makes the events durable, and only then lets the engine move on.

pub mod app;
pub mod bench;
pub mod devices;
pub mod label;
pub mod link;
pub mod runtime;
pub mod sound;
pub mod view;

pub use bench::{Bench, BenchError};
