//! Receipt printer side: status (`DLE EOT`), targets, status-checked transports and a
//! simulator. Label bytes come from [`crate::label`].

pub mod connection;
pub mod simulator;
pub mod status;
pub mod target;

pub use connection::{
    append_to_file, print_to_target, PrintError, PrintReceipt, PrinterConnection, PrinterTimeouts,
};
pub use simulator::{PrinterSimulator, SimMode};
pub use status::{
    is_status_byte, status_reply, BadStatusByte, PrinterCondition, PrinterStatus, StatusRequest,
    STATUS_OK,
};
pub use target::{PrinterTarget, TargetError, DEFAULT_BAUD, DEFAULT_TCP_PORT};
