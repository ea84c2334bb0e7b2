//! Command barcodes: printed on a sheet at the bench so the whole flow works by scanner alone.

// Defined here first; the path stays.
pub use super::vocab::HoldReason;
use super::vocab::{ApprovalReason, Condition, ReturnReason};
use crate::text;
use crate::text::Text;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    UndoLastScan,
    Hold(HoldReason),
    Reprint,
    SignOut,
    DispatchStart,
    DispatchEnd,
    /// A supervisor's reason for the approval awaiting one.
    Reason(ApprovalReason),
    /// Returns check-in (退货签收): start, end, close the open return.
    ReturnsStart,
    ReturnsEnd,
    ReturnClose,
    /// The condition of the returned unit scanned last.
    Condition(Condition),
    /// The buyer's reason for the open return.
    ReturnReason(ReturnReason),
}

impl Command {
    /// The barcode of this command on the sheet (the screen's buttons scan it too).
    pub const fn code(&self) -> &'static str {
        match self {
            Command::UndoLastScan => "PB-UNDO",
            Command::Hold(HoldReason::Other) => "PB-HOLD",
            Command::Hold(HoldReason::Short) => "PB-HOLD-SHORT",
            Command::Hold(HoldReason::Damaged) => "PB-HOLD-DAMAGED",
            Command::Hold(HoldReason::OrderQuery) => "PB-HOLD-QUERY",
            Command::Reprint => "PB-REPRINT",
            Command::SignOut => "PB-SIGNOUT",
            Command::DispatchStart => "PB-DISPATCH",
            Command::DispatchEnd => "PB-DISPATCH-END",
            Command::Reason(ApprovalReason::ScaleDrift) => "PB-REASON-SCALE_DRIFT",
            Command::Reason(ApprovalReason::PackagingHeavier) => "PB-REASON-PACKAGING_HEAVIER",
            Command::Reason(ApprovalReason::CatalogWeightWrong) => "PB-REASON-CATALOG_WEIGHT_WRONG",
            Command::Reason(ApprovalReason::RecountedOk) => "PB-REASON-RECOUNTED_OK",
            Command::Reason(ApprovalReason::CustomerRequest) => "PB-REASON-CUSTOMER_REQUEST",
            Command::Reason(ApprovalReason::Other) => "PB-REASON-OTHER",
            // Never chosen (not on the sheet, so never parsed): an old log's override.
            Command::Reason(ApprovalReason::NotGiven) => "PB-REASON-NOT_GIVEN",
            Command::ReturnsStart => "PB-RETURNS",
            Command::ReturnsEnd => "PB-RETURNS-END",
            Command::ReturnClose => "PB-RETURN-CLOSE",
            Command::Condition(Condition::Ok) => "PB-COND-OK",
            Command::Condition(Condition::Damaged) => "PB-COND-DAMAGED",
            Command::Condition(Condition::Used) => "PB-COND-USED",
            Command::Condition(Condition::WrongVariant) => "PB-COND-WRONG-VARIANT",
            Command::ReturnReason(ReturnReason::Size) => "PB-RET-REASON-SIZE",
            Command::ReturnReason(ReturnReason::Quality) => "PB-RET-REASON-QUALITY",
            Command::ReturnReason(ReturnReason::NotAsDescribed) => "PB-RET-REASON-NOT_AS_DESCRIBED",
            Command::ReturnReason(ReturnReason::WrongItemSent) => "PB-RET-REASON-WRONG_ITEM_SENT",
            Command::ReturnReason(ReturnReason::MissingItem) => "PB-RET-REASON-MISSING_ITEM",
            Command::ReturnReason(ReturnReason::ChangedMind) => "PB-RET-REASON-CHANGED_MIND",
            Command::ReturnReason(ReturnReason::DamagedInTransit) => {
                "PB-RET-REASON-DAMAGED_IN_TRANSIT"
            }
            Command::ReturnReason(ReturnReason::Other) => "PB-RET-REASON-OTHER",
        }
    }
}

/// The sheet's sections, in the order a packer meets them in a shift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CommandGroup {
    Packing,
    Holds,
    Approvals,
    Returns,
    Dispatch,
}

impl CommandGroup {
    pub const ALL: [CommandGroup; 5] = [
        CommandGroup::Packing,
        CommandGroup::Holds,
        CommandGroup::Approvals,
        CommandGroup::Returns,
        CommandGroup::Dispatch,
    ];

    /// The section heading in both languages.
    pub const fn heading(self) -> Text {
        match self {
            CommandGroup::Packing => text!("sheet.group_packing"),
            CommandGroup::Holds => text!("sheet.group_holds"),
            CommandGroup::Approvals => text!("sheet.group_approvals"),
            CommandGroup::Returns => text!("sheet.group_returns"),
            CommandGroup::Dispatch => text!("sheet.group_dispatch"),
        }
    }

    /// The commands of this section, in table order.
    pub fn commands(self) -> impl Iterator<Item = &'static (Command, Text)> {
        COMMANDS.iter().filter(move |(c, _)| c.group() == self)
    }
}

impl Command {
    /// The sheet section this command is printed in. A match without a catch-all, so a new
    /// command cannot be added without saying where the sheet shows it.
    pub const fn group(&self) -> CommandGroup {
        match self {
            Command::UndoLastScan | Command::Reprint | Command::SignOut => CommandGroup::Packing,
            Command::Hold(_) => CommandGroup::Holds,
            Command::Reason(_) => CommandGroup::Approvals,
            Command::DispatchStart | Command::DispatchEnd => CommandGroup::Dispatch,
            Command::ReturnsStart
            | Command::ReturnsEnd
            | Command::ReturnClose
            | Command::Condition(_)
            | Command::ReturnReason(_) => CommandGroup::Returns,
        }
    }
}

/// Every command in the order of the printable sheet, with its meaning there in both
/// languages (the text catalogue's; it displays as "English / 中文").
pub const COMMANDS: &[(Command, Text)] = &[
    (Command::UndoLastScan, text!("command.undo")),
    (
        Command::Hold(HoldReason::Other),
        text!("command.hold_other"),
    ),
    (
        Command::Hold(HoldReason::Short),
        text!("command.hold_short"),
    ),
    (
        Command::Hold(HoldReason::Damaged),
        text!("command.hold_damaged"),
    ),
    (
        Command::Hold(HoldReason::OrderQuery),
        text!("command.hold_query"),
    ),
    (Command::Reprint, text!("command.reprint")),
    (Command::SignOut, text!("command.sign_out")),
    (Command::DispatchStart, text!("command.dispatch_start")),
    (Command::DispatchEnd, text!("command.dispatch_end")),
    (
        Command::Reason(ApprovalReason::ScaleDrift),
        text!("command.reason_scale_drift"),
    ),
    (
        Command::Reason(ApprovalReason::PackagingHeavier),
        text!("command.reason_packaging_heavier"),
    ),
    (
        Command::Reason(ApprovalReason::CatalogWeightWrong),
        text!("command.reason_catalog_weight_wrong"),
    ),
    (
        Command::Reason(ApprovalReason::RecountedOk),
        text!("command.reason_recounted_ok"),
    ),
    (
        Command::Reason(ApprovalReason::CustomerRequest),
        text!("command.reason_customer_request"),
    ),
    (
        Command::Reason(ApprovalReason::Other),
        text!("command.reason_other"),
    ),
    (Command::ReturnsStart, text!("command.returns_start")),
    (Command::ReturnsEnd, text!("command.returns_end")),
    (Command::ReturnClose, text!("command.return_close")),
    (
        Command::Condition(Condition::Ok),
        text!("command.condition_ok"),
    ),
    (
        Command::Condition(Condition::Damaged),
        text!("command.condition_damaged"),
    ),
    (
        Command::Condition(Condition::Used),
        text!("command.condition_used"),
    ),
    (
        Command::Condition(Condition::WrongVariant),
        text!("command.condition_wrong_variant"),
    ),
    (
        Command::ReturnReason(ReturnReason::Size),
        text!("command.return_reason_size"),
    ),
    (
        Command::ReturnReason(ReturnReason::Quality),
        text!("command.return_reason_quality"),
    ),
    (
        Command::ReturnReason(ReturnReason::NotAsDescribed),
        text!("command.return_reason_not_as_described"),
    ),
    (
        Command::ReturnReason(ReturnReason::WrongItemSent),
        text!("command.return_reason_wrong_item_sent"),
    ),
    (
        Command::ReturnReason(ReturnReason::MissingItem),
        text!("command.return_reason_missing_item"),
    ),
    (
        Command::ReturnReason(ReturnReason::ChangedMind),
        text!("command.return_reason_changed_mind"),
    ),
    (
        Command::ReturnReason(ReturnReason::DamagedInTransit),
        text!("command.return_reason_damaged_in_transit"),
    ),
    (
        Command::ReturnReason(ReturnReason::Other),
        text!("command.return_reason_other"),
    ),
];

impl Command {
    /// Its meaning as the printed sheet says it (an approval or hold reason in words).
    pub fn words(&self) -> Text {
        COMMANDS
            .iter()
            .find(|(c, _)| c == self)
            .map(|(_, t)| *t)
            .expect("every command is on the sheet")
    }
}

/// The command a scanned code stands for, if it is one (case-insensitive).
pub fn parse_command(code: &str) -> Option<Command> {
    let code = code.trim();
    COMMANDS
        .iter()
        .map(|(c, _)| *c)
        .find(|c| c.code().eq_ignore_ascii_case(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_code_parses() {
        for (c, _) in COMMANDS {
            let code = c.code();
            assert_eq!(parse_command(code), Some(*c), "{code}");
            assert_eq!(parse_command(&code.to_lowercase()), Some(*c), "{code}");
        }
        assert_eq!(
            parse_command(" pb-hold-short "),
            Some(Command::Hold(HoldReason::Short))
        );
        assert_eq!(
            parse_command("PB-REASON-CATALOG_WEIGHT_WRONG"),
            Some(Command::Reason(ApprovalReason::CatalogWeightWrong))
        );
        assert_eq!(parse_command("PB-REASON-NOT_GIVEN"), None);
        assert_eq!(parse_command("PB-NOPE"), None);
        assert_eq!(parse_command("6901234567892"), None);
    }

    #[test]
    fn the_groups_hold_every_command_once() {
        let grouped: Vec<&str> = CommandGroup::ALL
            .iter()
            .flat_map(|g| g.commands().map(|(c, _)| c.code()))
            .collect();
        let mut listed: Vec<&str> = COMMANDS.iter().map(|(c, _)| c.code()).collect();
        let mut sorted = grouped.clone();
        sorted.sort_unstable();
        listed.sort_unstable();
        assert_eq!(sorted, listed);
        assert_eq!(
            Command::Hold(HoldReason::Short).group(),
            CommandGroup::Holds
        );
        assert_eq!(Command::DispatchEnd.group(), CommandGroup::Dispatch);
        assert_eq!(Command::ReturnClose.group(), CommandGroup::Returns);
    }

    /// Every condition and every buyer's reason has its barcode on the sheet, named as the
    /// contract names it (`PB-COND-WRONG-VARIANT`, `PB-RET-REASON-WRONG_ITEM_SENT`).
    #[test]
    fn every_condition_and_return_reason_has_its_code() {
        for c in Condition::ALL {
            let code = format!("PB-COND-{}", c.as_str().to_uppercase().replace('_', "-"));
            assert_eq!(parse_command(&code), Some(Command::Condition(c)), "{code}");
        }
        for r in ReturnReason::ALL {
            let code = format!("PB-RET-REASON-{}", r.as_str().to_uppercase());
            assert_eq!(
                parse_command(&code),
                Some(Command::ReturnReason(r)),
                "{code}"
            );
        }
        for (code, c) in [
            ("PB-RETURNS", Command::ReturnsStart),
            ("PB-RETURNS-END", Command::ReturnsEnd),
            ("PB-RETURN-CLOSE", Command::ReturnClose),
        ] {
            assert_eq!(parse_command(code), Some(c));
        }
    }
}
