//! Command barcodes: printed on a sheet at the bench so the whole flow works by scanner alone.

use serde::{Deserialize, Serialize};

use super::event::ApprovalReason;
use super::returns::{Condition, ReturnReason};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

    /// The section heading: English, Chinese.
    pub const fn title(self) -> (&'static str, &'static str) {
        match self {
            CommandGroup::Packing => ("Packing", "打包"),
            CommandGroup::Holds => ("Holds", "挂起"),
            CommandGroup::Approvals => ("Approvals and reasons", "主管批准与原因"),
            CommandGroup::Returns => ("Returns", "退货"),
            CommandGroup::Dispatch => ("Dispatch", "发货交接"),
        }
    }

    /// The commands of this section, in table order.
    pub fn commands(self) -> impl Iterator<Item = &'static (Command, &'static str)> {
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

/// Every command in the order of the printable sheet, with its label there, written
/// "English / 中文" (the sheet prints the halves on their own lines).
pub const COMMANDS: &[(Command, &str)] = &[
    (Command::UndoLastScan, "Undo last scan / 撤销上一次扫描"),
    (
        Command::Hold(HoldReason::Other),
        "Hold order (other reason) / 挂起订单(其他原因)",
    ),
    (
        Command::Hold(HoldReason::Short),
        "Hold: goods short / 挂起:缺货",
    ),
    (
        Command::Hold(HoldReason::Damaged),
        "Hold: goods damaged / 挂起:货品损坏",
    ),
    (
        Command::Hold(HoldReason::OrderQuery),
        "Hold: order query / 挂起:订单待确认",
    ),
    (Command::Reprint, "Reprint last label / 补打上一张面单"),
    (Command::SignOut, "Sign out / 签退"),
    (
        Command::DispatchStart,
        "Start dispatch (courier handover) / 开始发货交接",
    ),
    (Command::DispatchEnd, "End dispatch / 结束发货交接"),
    (
        Command::Reason(ApprovalReason::ScaleDrift),
        "Approval reason: scale drift / 审批原因:秤漂移",
    ),
    (
        Command::Reason(ApprovalReason::PackagingHeavier),
        "Approval reason: packaging heavier / 审批原因:包材偏重",
    ),
    (
        Command::Reason(ApprovalReason::CatalogWeightWrong),
        "Approval reason: catalog weight wrong / 审批原因:商品资料重量有误",
    ),
    (
        Command::Reason(ApprovalReason::RecountedOk),
        "Approval reason: recounted, correct / 审批原因:已复点无误",
    ),
    (
        Command::Reason(ApprovalReason::CustomerRequest),
        "Approval reason: customer request / 审批原因:客户要求",
    ),
    (
        Command::Reason(ApprovalReason::Other),
        "Approval reason: other / 审批原因:其他",
    ),
    (
        Command::ReturnsStart,
        "Start returns check-in / 开始退货签收",
    ),
    (Command::ReturnsEnd, "End returns check-in / 结束退货签收"),
    (
        Command::ReturnClose,
        "Close the open return / 完成本次退货签收",
    ),
    (
        Command::Condition(Condition::Ok),
        "Last unit: condition OK / 上一件:完好",
    ),
    (
        Command::Condition(Condition::Damaged),
        "Last unit: damaged / 上一件:损坏",
    ),
    (
        Command::Condition(Condition::Used),
        "Last unit: used / 上一件:已使用",
    ),
    (
        Command::Condition(Condition::WrongVariant),
        "Last unit: wrong variant / 上一件:规格不符",
    ),
    (
        Command::ReturnReason(ReturnReason::Size),
        "Buyer's reason: size / 退货原因:尺码不合适",
    ),
    (
        Command::ReturnReason(ReturnReason::Quality),
        "Buyer's reason: quality / 退货原因:质量问题",
    ),
    (
        Command::ReturnReason(ReturnReason::NotAsDescribed),
        "Buyer's reason: not as described / 退货原因:与描述不符",
    ),
    (
        Command::ReturnReason(ReturnReason::WrongItemSent),
        "Buyer's reason: wrong item sent / 退货原因:发错货",
    ),
    (
        Command::ReturnReason(ReturnReason::MissingItem),
        "Buyer's reason: missing item / 退货原因:少发漏发",
    ),
    (
        Command::ReturnReason(ReturnReason::ChangedMind),
        "Buyer's reason: changed mind / 退货原因:不想要了",
    ),
    (
        Command::ReturnReason(ReturnReason::DamagedInTransit),
        "Buyer's reason: damaged in transit / 退货原因:运输损坏",
    ),
    (
        Command::ReturnReason(ReturnReason::Other),
        "Buyer's reason: other / 退货原因:其他",
    ),
];

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
