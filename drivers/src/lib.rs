//! Device drivers for packbench. This crate knows bytes and devices, nothing of orders:
//! scanner and scale codecs, ESC/POS label building, printer status, transports and simulators.

pub mod label;
pub mod printer;
pub mod scale;
pub mod scanner;
pub mod serial;
pub mod sim;
pub mod text;
