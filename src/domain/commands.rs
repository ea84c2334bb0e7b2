//! Command barcodes: printed on a sheet at the bench so the whole flow works by scanner alone.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HoldReason {
    /// Goods short in stock or missing from the basket.
    Short,
    Damaged,
    /// The buyer changed the order or it needs a look by customer service.
    OrderQuery,
    Other,
}

impl HoldReason {
    pub fn as_str(&self) -> &'static str {
        match self {
            HoldReason::Short => "short",
            HoldReason::Damaged => "damaged",
            HoldReason::OrderQuery => "order_query",
            HoldReason::Other => "other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    UndoLastScan,
    Hold(HoldReason),
    Reprint,
    SignOut,
    DispatchStart,
    DispatchEnd,
}

/// Every command barcode, its meaning and its label for the printable sheet.
pub const COMMAND_CODES: &[(&str, &str)] = &[
    ("PB-UNDO", "Undo last scan / 撤销上一次扫描"),
    ("PB-HOLD", "Hold order (other reason) / 挂起订单(其他原因)"),
    ("PB-HOLD-SHORT", "Hold: goods short / 挂起:缺货"),
    ("PB-HOLD-DAMAGED", "Hold: goods damaged / 挂起:货品损坏"),
    ("PB-HOLD-QUERY", "Hold: order query / 挂起:订单待确认"),
    ("PB-REPRINT", "Reprint last label / 补打上一张面单"),
    ("PB-SIGNOUT", "Sign out / 签退"),
    (
        "PB-DISPATCH",
        "Start dispatch (courier handover) / 开始发货交接",
    ),
    ("PB-DISPATCH-END", "End dispatch / 结束发货交接"),
];

/// The command a scanned code stands for, if it is one (case-insensitive).
pub fn parse_command(code: &str) -> Option<Command> {
    let c = code.trim().to_ascii_uppercase();
    Some(match c.as_str() {
        "PB-UNDO" => Command::UndoLastScan,
        "PB-HOLD" => Command::Hold(HoldReason::Other),
        "PB-HOLD-SHORT" => Command::Hold(HoldReason::Short),
        "PB-HOLD-DAMAGED" => Command::Hold(HoldReason::Damaged),
        "PB-HOLD-QUERY" => Command::Hold(HoldReason::OrderQuery),
        "PB-REPRINT" => Command::Reprint,
        "PB-SIGNOUT" => Command::SignOut,
        "PB-DISPATCH" => Command::DispatchStart,
        "PB-DISPATCH-END" => Command::DispatchEnd,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_code_parses() {
        for (code, _) in COMMAND_CODES {
            assert!(parse_command(code).is_some(), "{code}");
            assert!(parse_command(&code.to_lowercase()).is_some(), "{code}");
        }
        assert_eq!(parse_command("PB-NOPE"), None);
        assert_eq!(parse_command("6901234567892"), None);
    }
}
