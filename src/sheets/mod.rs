//! What a new bench prints before its first parcel: the command sheet (A4 PDF, or on the bench's
//! receipt printer) and the packers' badges (credit-card size, A4 PDF with cut marks).
//!
//! Both are made from the one command table ([`crate::domain::commands`], in its groups) and
//! the employees in the store. Barcodes are the drivers' CODE128 ([`Code128::encode`] and the
//! bars a printer draws for it), so the sheet, the badges and the labels agree on every code.

mod pdf;

use anyhow::{bail, Result};
use packbench_drivers::label::code128::Code128;
use packbench_drivers::label::{build_code_sheet, CodeSection, CodeSheet};

use crate::domain::commands::{Command, CommandGroup};
use crate::domain::{Employee, Role};
use crate::station::label::LabelSetup;

pub use pdf::FONT;

/// A command's meaning, split into its English and Chinese halves (the table writes
/// "English / 中文").
pub fn meaning_parts(meaning: &str) -> (&str, &str) {
    match meaning.rsplit_once(" / ") {
        Some((en, zh)) => (en.trim(), zh.trim()),
        None => (meaning.trim(), ""),
    }
}

/// The command sheet's sections, in order, empty ones left out.
pub fn sections() -> Vec<(CommandGroup, Vec<(Command, &'static str)>)> {
    CommandGroup::ALL
        .iter()
        .map(|g| (*g, g.commands().copied().collect::<Vec<_>>()))
        .filter(|(_, c)| !c.is_empty())
        .collect()
}

/// The command sheet for the bench's receipt printer: both languages when it prints Chinese,
/// English otherwise (a printer without Chinese would print the Chinese as `?`).
pub fn command_sheet_escpos(setup: LabelSetup) -> Vec<u8> {
    let bilingual = |en: &str, zh: &str| {
        if setup.chinese && !zh.is_empty() {
            format!("{en} / {zh}")
        } else {
            en.to_string()
        }
    };
    build_code_sheet(&CodeSheet {
        title: bilingual(SHEET_TITLE.0, SHEET_TITLE.1),
        sections: sections()
            .into_iter()
            .map(|(g, cmds)| CodeSection {
                heading: bilingual(g.title().0, g.title().1),
                codes: cmds
                    .into_iter()
                    .map(|(c, m)| {
                        let (en, zh) = meaning_parts(m);
                        (c.code().to_string(), bilingual(en, zh))
                    })
                    .collect(),
            })
            .collect(),
        paper: setup.paper,
        chinese: setup.chinese,
    })
}

const SHEET_TITLE: (&str, &str) = ("Command sheet", "命令条码");

/// The command sheet as an A4 PDF.
pub fn command_sheet_pdf() -> Result<Vec<u8>> {
    let sections: Vec<pdf::Section> = sections()
        .into_iter()
        .map(|(g, cmds)| pdf::Section {
            title: g.title(),
            items: cmds
                .into_iter()
                .map(|(c, m)| {
                    let (en, zh) = meaning_parts(m);
                    pdf::Item {
                        code: c.code().to_string(),
                        en: en.to_string(),
                        zh: zh.to_string(),
                    }
                })
                .collect(),
        })
        .collect();
    pdf::command_sheet(SHEET_TITLE, &sections)
}

/// Picks the employees for badges: all of them, or those `ids` name (in that order). An id
/// that is not an employee is an error naming it.
pub fn select_employees(all: Vec<Employee>, ids: &[String]) -> Result<Vec<Employee>> {
    if ids.is_empty() {
        // A badge for someone who has left would only be refused (`badge_inactive`).
        let active: Vec<Employee> = all.into_iter().filter(|e| e.active).collect();
        if active.is_empty() {
            bail!("there are no active employees: import them first (packbench import employees FILE)");
        }
        return Ok(active);
    }
    let missing: Vec<&str> = ids
        .iter()
        .filter(|id| !all.iter().any(|e| &e.id == *id))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        bail!("no employee with id {}", missing.join(", "));
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
        if let Err(err) = Code128::encode(&e.badge) {
            bail!(
                "employee {}: badge {:?} cannot be a CODE128 barcode: {err}",
                e.id,
                e.badge
            );
        }
        let roles: Vec<(&str, &str)> = [
            (Role::Picker, ("Picker", "拣货员")),
            (Role::Packer, ("Packer", "打包员")),
            (Role::Supervisor, ("Supervisor", "主管")),
        ]
        .into_iter()
        .filter(|(r, _)| e.roles.has(*r))
        .map(|(_, names)| names)
        .collect();
        badges.push(pdf::Badge {
            name: packbench_drivers::text::for_printer(&e.name),
            id: packbench_drivers::text::for_printer(&e.id),
            roles_en: roles.iter().map(|r| r.0).collect::<Vec<_>>().join(", "),
            roles_zh: roles.iter().map(|r| r.1).collect::<Vec<_>>().join("、"),
            code: e.badge.clone(),
        });
    }
    pdf::badges(&badges)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meanings_split_into_both_languages() {
        assert_eq!(
            meaning_parts("Start dispatch (courier handover) / 开始发货交接"),
            ("Start dispatch (courier handover)", "开始发货交接")
        );
        assert_eq!(meaning_parts("Sign out"), ("Sign out", ""));
    }

    #[test]
    fn every_command_has_an_english_and_a_chinese_meaning() {
        // The sheet prints both halves; a command added with one language would show a gap.
        for (c, m) in crate::domain::commands::COMMANDS {
            let (en, zh) = meaning_parts(m);
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
