//! Printing a label on a serial printer.

use crate::printer::{PrintError, PrintReceipt, PrinterConnection, PrinterTimeouts};

use super::open::open;
use super::settings::SerialSettings;

/// Opens the port, prints one job with the usual status checks, and closes the port, so a
/// printer that was power-cycled between labels is simply opened again. A port that cannot
/// be opened is `Unreachable` with the open error as the reason.
pub async fn print_serial(
    settings: &SerialSettings,
    job: &[u8],
    timeouts: PrinterTimeouts,
) -> Result<PrintReceipt, PrintError> {
    let port = open(settings).map_err(|e| PrintError::Unreachable {
        reason: e.to_string(),
    })?;
    let name = settings.path.display().to_string();
    let mut conn = PrinterConnection::new(port, timeouts, name);
    conn.print(job).await
}
