//! Pure logic: no I/O and no clock (time always comes in as an argument).

pub mod barcode;
pub mod catalog;
pub mod commands;
pub mod event;
pub mod order;
pub mod pin;
pub mod progress;
pub mod returns;
pub mod session;
pub mod weight;

pub use catalog::{BarcodeEntry, Catalog, Sku};
pub use event::{EventType, NewEvent};
pub use order::{Employee, Order, OrderLine, Packaging, Role, Roles};
