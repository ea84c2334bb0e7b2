//! Diagnostics on stderr through `tracing`: readable lines for a person by default, one JSON
//! object per line (`--log-format json`) for benches run as services. `RUST_LOG` filters as
//! usual (`RUST_LOG=debug`, `RUST_LOG=packbench::scale=trace`); without it, warnings and
//! errors only, so a person at the terminal sees what needs them.

use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// Installs the subscriber once for the process; later calls do nothing.
pub fn init(format: LogFormat) {
    // No directive is added after the environment's: it would override RUST_LOG=debug.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn"));
    // Colours only for a person at a terminal, never into a log file or a pipe.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_target(true).try_init(),
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
    };
}
