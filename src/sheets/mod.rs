//! What a new bench prints before its first parcel: the command sheet (A4 PDF, or on the bench's
//! receipt printer) and the packers' badges (credit-card size, A4 PDF with cut marks).
//!
//! Both are made from the one command table ([`crate::domain::commands`], in its groups) and
//! the employees in the store. Barcodes are the drivers' CODE128 ([`Code128::encode`] and the
//! bars a printer draws for it), so the sheet, the badges and the labels agree on every code.

mod pdf;

use packbench_drivers::label::code128::{BarcodeError, Code128};
use packbench_drivers::label::{build_code_sheet, CodeSection, CodeSheet};

use crate::config::LabelSetup;
use crate::domain::commands::{Command, CommandGroup};
use crate::domain::Employee;
use crate::text;
use crate::text::Text;

pub use pdf::FONT;

/// Why a sheet could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    #[error("the bundled font is unreadable")]
    Font,
    #[error("{code:?} cannot be a barcode: {source}")]
    Barcode {
        code: String,
        #[source]
        source: BarcodeError,
    },
    #[error("{0:?}: no CODE128 bars")]
    NoBars(String),
    #[error("bad page size")]
    PageSize,
    #[error("PDF: {0}")]
    Pdf(String),
    #[error("there are no active employees: import them first (packbench import employees FILE)")]
    NoActiveEmployees,
    #[error("no employee with id {0}")]
    UnknownEmployees(String),
    #[error("employee {id}: badge {badge:?} cannot be a CODE128 barcode: {source}")]
    BadBadge {
        id: String,
        badge: String,
        #[source]
        source: BarcodeError,
    },
}

pub type Result<T, E = SheetError> = std::result::Result<T, E>;

/// The command sheet's sections, in order, empty ones left out.
pub fn sections() -> Vec<(CommandGroup, Vec<(Command, Text)>)> {
    CommandGroup::ALL
        .iter()
        .map(|g| (*g, g.commands().copied().collect::<Vec<_>>()))
        .filter(|(_, c)| !c.is_empty())
        .collect()
}

/// The command sheet for the bench's receipt printer: both languages when it prints Chinese,
/// English otherwise (a printer without Chinese would print the Chinese as `?`).
pub fn command_sheet_escpos(setup: LabelSetup) -> Vec<u8> {
    let bilingual = |t: Text| {
        if setup.chinese {
            t.to_string()
        } else {
            t.en.to_string()
        }
    };
    build_code_sheet(&CodeSheet {
        title: bilingual(text!("sheet.title")),
        sections: sections()
            .into_iter()
            .map(|(g, cmds)| CodeSection {
                heading: bilingual(g.heading()),
                codes: cmds
                    .into_iter()
                    .map(|(c, m)| (c.code().to_string(), bilingual(m)))
                    .collect(),
            })
            .collect(),
        paper: setup.paper,
        chinese: setup.chinese,
    })
}

/// The command sheet as an A4 PDF.
pub fn command_sheet_pdf() -> Result<Vec<u8>> {
    let sections: Vec<pdf::Section> = sections()
        .into_iter()
        .map(|(g, cmds)| pdf::Section {
            title: g.heading(),
            items: cmds
                .into_iter()
                .map(|(c, meaning)| pdf::Item {
                    code: c.code().to_string(),
                    meaning,
                })
                .collect(),
        })
        .collect();
    pdf::command_sheet(text!("sheet.title"), &sections)
}

/// Picks the employees for badges: all of them, or those `ids` name (in that order). An id
/// that is not an employee is an error naming it.
pub fn select_employees(all: Vec<Employee>, ids: &[String]) -> Result<Vec<Employee>> {
    if ids.is_empty() {
        // A badge for someone who has left would only be refused (`badge_inactive`).
        let active: Vec<Employee> = all.into_iter().filter(|e| e.active).collect();
        if active.is_empty() {
            return Err(SheetError::NoActiveEmployees);
        }
        return Ok(active);
    }
    let missing: Vec<&str> = ids
        .iter()
        .filter(|id| !all.iter().any(|e| &e.id == *id))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(SheetError::UnknownEmployees(missing.join(", ")));
    }
    Ok(ids
        .iter()
        .filter_map(|id| all.iter().find(|e| &e.id == id).cloned())
        .collect())
}

/// The badges as an A4 PDF: ten credit-card badges a page, cut marks around them. A badge
/// shows name, id, roles and the badge barcode; nothing else about the person (never a PIN).
pub fn badges_pdf(employees: &[Employee]) -> Result<Vec<u8>> {
    let mut badges = Vec::with_capacity(employees.len());
    for e in employees {
        if let Err(source) = Code128::encode(&e.badge) {
            return Err(SheetError::BadBadge {
                id: e.id.clone(),
                badge: e.badge.clone(),
                source,
            });
        }
        badges.push(pdf::Badge {
            name: packbench_drivers::text::for_printer(&e.name),
            id: packbench_drivers::text::for_printer(&e.id),
            roles: e.roles.words(),
            code: e.badge.clone(),
        });
    }
    pdf::badges(&badges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_an_english_and_a_chinese_meaning() {
        // The sheet prints both halves; a command added with one language would show a gap.
        for (c, m) in crate::domain::commands::COMMANDS {
            let (en, zh) = (m.en, m.zh);
            assert!(!en.is_empty() && en.is_ascii(), "{}: {m:?}", c.code());
            assert!(
                zh.chars().any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch)),
                "{}: {m:?}",
                c.code()
            );
        }
    }

    #[test]
    fn unknown_ids_are_named() {
        let e = |id: &str| Employee {
            id: id.into(),
            name: "N".into(),
            roles: Default::default(),
            badge: format!("BADGE-{id}"),
            pin_hash: None,
            active: true,
        };
        let all = vec![e("E1"), e("E2"), e("E3")];
        let picked = select_employees(all.clone(), &["E3".into(), "E1".into()]).unwrap();
        assert_eq!(
            picked.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["E3", "E1"]
        );
        let err =
            select_employees(all.clone(), &["E1".into(), "E9".into(), "X".into()]).unwrap_err();
        assert_eq!(err.to_string(), "no employee with id E9, X");
        assert!(select_employees(vec![], &[]).is_err());
        // All badges: the active employees only.
        let mut gone = all.clone();
        gone[1].active = false;
        let ids: Vec<String> = select_employees(gone, &[])
            .unwrap()
            .into_iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(ids, ["E1", "E3"]);
    }

    #[test]
    fn a_badge_that_cannot_be_a_barcode_is_named() {
        let e = Employee {
            id: "E9".into(),
            name: "王芳".into(),
            roles: Default::default(),
            badge: "工牌9".into(),
            pin_hash: None,
            active: true,
        };
        let err = badges_pdf(&[e]).unwrap_err().to_string();
        assert!(err.starts_with("employee E9: badge \"工牌9\""), "{err}");
    }

    #[test]
    fn sheet_sections_follow_the_groups_in_order() {
        let s = sections();
        let groups: Vec<CommandGroup> = s.iter().map(|(g, _)| *g).collect();
        let mut sorted = groups.clone();
        sorted.sort();
        assert_eq!(groups, sorted);
        assert!(s
            .iter()
            .all(|(g, c)| c.iter().all(|(cmd, _)| cmd.group() == *g)));
        let total: usize = s.iter().map(|(_, c)| c.len()).sum();
        assert_eq!(total, crate::domain::commands::COMMANDS.len());
    }
}
