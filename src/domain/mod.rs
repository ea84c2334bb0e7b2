//! Pure logic: no I/O and no clock (time always comes in as an argument).
//!
//! Its modules form layers, each using only the ones below it (listed in [`vocab`]'s doc):
//! `vocab`, `barcode`, `pin`, `weight` at the bottom; `event` above them; `returns` and
//! `progress`, which fold events; `commands`; and `session`, the engine, on top.

pub mod barcode;
pub mod catalog;
pub mod commands;
pub mod event;
pub mod order;
pub mod pin;
pub mod progress;
pub mod returns;
pub mod session;
pub mod vocab;
pub mod weight;

pub use catalog::{BarcodeEntry, Catalog, Sku};
pub use event::{EventType, NewEvent};
pub use order::{Employee, Order, OrderLine, Packaging, Role, Roles};
