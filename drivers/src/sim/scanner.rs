//! Scanner simulator: a code as the scanner puts it on the wire.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::scanner::Suffix;

/// The bytes of one scan: optional AIM identifier (e.g. `"]C1"`), the code (GS separators as
/// `\u{1d}`), then the suffix, if any.
pub fn encode_scan(code: &str, aim: Option<&str>, suffix: Option<Suffix>) -> Vec<u8> {
    let mut out = Vec::with_capacity(code.len() + 5);
    if let Some(aim) = aim {
        out.extend_from_slice(aim.as_bytes());
    }
    out.extend_from_slice(code.as_bytes());
    if let Some(suffix) = suffix {
        out.extend_from_slice(suffix.bytes());
    }
    out
}

/// Writes `bytes` one at a time with `char_gap` between them, like a scanner on a slow line;
/// a zero gap writes them in one go.
pub async fn type_bytes<W>(writer: &mut W, bytes: &[u8], char_gap: Duration) -> io::Result<()>
where
    W: AsyncWrite + Unpin,
{
    if char_gap.is_zero() {
        writer.write_all(bytes).await?;
    } else {
        for (i, b) in bytes.iter().enumerate() {
            if i > 0 {
                tokio::time::sleep(char_gap).await;
            }
            writer.write_all(std::slice::from_ref(b)).await?;
            writer.flush().await?;
        }
    }
    writer.flush().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_aim_code_suffix() {
        assert_eq!(
            encode_scan("0101234\u{1d}10X", Some("]C1"), Some(Suffix::CrLf)),
            b"]C10101234\x1d10X\r\n"
        );
        assert_eq!(encode_scan("ABC", None, None), b"ABC");
        assert_eq!(encode_scan("ABC", None, Some(Suffix::Tab)), b"ABC\t");
    }
}
