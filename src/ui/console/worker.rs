//! The console's worker thread: it owns the central connection, answers the window's
//! questions one batch at a time (only the newest of each kind), and posts plain data back.

use std::path::PathBuf;
use std::sync::mpsc::Receiver;
use std::time::Instant;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

use super::{SharedClock, DEVICE_LOST_AFTER, ONLINE_WITHIN, QUEUE_LIMIT, SEARCH_LIMIT, WEEKS};
use crate::audit::{floor as sheets, sheet};
use crate::central::{
    self, BoardRow, CentralReader, HourlyRow, Report, ReviewItem, SearchHit, SignInRefusal,
    SEARCH_MIN_CHARS,
};
use crate::domain::pin::{Pin, PinHash, LOCK_MINUTES};
use crate::store::ReferenceData;
use crate::text;
use crate::text::{Text, Words};
use crate::ui::adapter::plain;
use crate::ui::lookup::{self, Reply};
use crate::ui::ExportFormat;

/// What the window asks.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Ask {
    SignIn {
        who: String,
        pin: String,
    },
    SignOut,
    Board,
    Review {
        include_reviewed: bool,
    },
    Search(String),
    Open {
        kind: central::HitKind,
        key: String,
        /// The language the timeline's summary is said in.
        lang: crate::text::Lang,
    },
    Mark {
        id: String,
        note: String,
    },
    Report {
        from: String,
        to: String,
    },
    Export {
        tab: Tab,
        format: ExportFormat,
        include_reviewed: bool,
        query: String,
        from: String,
        to: String,
    },
}

impl Ask {
    /// Questions whose older copies a newer one makes pointless.
    fn kind(&self) -> Option<u8> {
        match self {
            Ask::Board => Some(0),
            Ask::Review { .. } => Some(1),
            Ask::Search(_) => Some(2),
            Ask::Report { .. } => Some(3),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tab {
    Board,
    Review,
    Search,
    Reports,
}

/// One week of the packers' chart.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Week {
    pub start: NaiveDate,
    pub report: Report,
}

/// What the worker answers, as plain data (Slint rows are built on the UI thread).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Answer {
    SignedIn(Result<(String, String), Words>),
    SignedOut,
    Board {
        rows: Vec<BoardRow>,
        hourly: Vec<HourlyRow>,
        at: DateTime<FixedOffset>,
        ms: u128,
    },
    Review {
        items: Vec<ReviewItem>,
        at: DateTime<FixedOffset>,
    },
    Hits {
        hits: Vec<SearchHit>,
        message: Words,
    },
    Lookup(Reply),
    Marked(Result<String, Words>),
    Report {
        report: Report,
        weeks: Vec<Week>,
    },
    Exported(Result<PathBuf, Words>),
    Failed(Words),
}

/// The batch without the questions a newer one of the same kind makes pointless.
pub(super) fn newest(batch: Vec<Ask>) -> Vec<Ask> {
    let kinds: Vec<Option<u8>> = batch.iter().map(Ask::kind).collect();
    batch
        .into_iter()
        .enumerate()
        .filter(|(i, a)| !a.kind().is_some_and(|k| kinds[i + 1..].contains(&Some(k))))
        .map(|(_, a)| a)
        .collect()
}

pub(super) struct Worker {
    pub reader: CentralReader,
    pub clock: SharedClock,
    pub exports: PathBuf,
    /// The supervisor signed in: (id, name), and their PIN's proof from the centre, which
    /// every review sends for the centre to check again (held in memory only, never shown).
    pub signed_in: Option<(String, String)>,
    pub proof: Option<PinHash>,
    pub last_hits: Vec<SearchHit>,
}

/// An export that failed, with its causes (`{:#}` shows an error's chain where it has one).
fn fail(e: impl std::fmt::Display) -> Words {
    text!("console.export_failed", error = format!("{e:#}"))
}

fn db_words(e: impl std::fmt::Display) -> Words {
    text!("console.database_error", error = e.to_string())
}

impl Worker {
    pub fn serve(&mut self, rx: Receiver<Ask>, post: impl Fn(Answer, usize)) {
        while let Ok(first) = rx.recv() {
            let mut batch = vec![first];
            while let Ok(more) = rx.try_recv() {
                batch.push(more);
            }
            let n = batch.len();
            let mut answers: Vec<Answer> =
                newest(batch).into_iter().map(|a| self.answer(a)).collect();
            let last = answers.pop();
            for a in answers {
                post(a, 0);
            }
            if let Some(a) = last {
                post(a, n);
            }
        }
    }

    fn today(&self) -> (DateTime<FixedOffset>, DateTime<Utc>) {
        let now = (self.clock)();
        (now, lookup::day_start(now).with_timezone(&Utc))
    }

    fn answer(&mut self, a: Ask) -> Answer {
        if !matches!(a, Ask::SignIn { .. }) && self.signed_in.is_none() {
            return Answer::SignedIn(Err(text!("console.sign_in_first").words()));
        }
        let c = self.reader.central().clone();
        match a {
            Ask::SignIn { who, pin } => Answer::SignedIn(self.sign_in(&who, &pin)),
            Ask::SignOut => {
                self.signed_in = None;
                self.proof = None;
                Answer::SignedOut
            }
            Ask::Board => {
                let (now, since) = self.today();
                let t = Instant::now();
                let got = self.reader.block_on(async {
                    let rows = c.board(ONLINE_WITHIN, since).await?;
                    let hourly = c.hourly(since).await?;
                    Ok::<_, crate::central::CentralError>((rows, hourly))
                });
                match got {
                    Ok((rows, hourly)) => Answer::Board {
                        rows,
                        hourly,
                        at: now,
                        ms: t.elapsed().as_millis(),
                    },
                    Err(e) => Answer::Failed(db_words(e)),
                }
            }
            Ask::Review { include_reviewed } => {
                let (now, since) = self.today();
                // The queue spans the last week: an item from yesterday still waits.
                let since = since - chrono::Duration::days(7);
                match self.reader.block_on(c.review_queue(
                    since,
                    DEVICE_LOST_AFTER,
                    include_reviewed,
                    QUEUE_LIMIT,
                )) {
                    Ok(items) => Answer::Review { items, at: now },
                    Err(e) => Answer::Failed(db_words(e)),
                }
            }
            Ask::Search(text) => {
                let text = text.trim().to_string();
                if text.chars().count() < SEARCH_MIN_CHARS {
                    self.last_hits.clear();
                    return Answer::Hits {
                        hits: vec![],
                        message: text!("console.search_too_short", n = SEARCH_MIN_CHARS),
                    };
                }
                match self.reader.block_on(c.search(&text, SEARCH_LIMIT)) {
                    Ok(hits) => {
                        self.last_hits = hits.clone();
                        let message = if hits.is_empty() {
                            text!("console.nothing_found", text = plain(&text))
                        } else {
                            text!("console.found", n = hits.len())
                        };
                        Answer::Hits { hits, message }
                    }
                    Err(e) => Answer::Failed(db_words(e)),
                }
            }
            Ask::Open { kind, key, lang } => {
                let (_, since) = self.today();
                let r = match kind {
                    central::HitKind::Order => lookup::timeline(&self.reader, &key, lang),
                    central::HitKind::Employee => {
                        lookup::person(&self.reader, &key, since.fixed_offset(), lang)
                    }
                    central::HitKind::Sku => {
                        Ok(Reply::Failed(text!("console.sku_has_no_timeline").words()))
                    }
                };
                match r {
                    Ok(r) => Answer::Lookup(r),
                    Err(e) => Answer::Failed(db_words(e)),
                }
            }
            Ask::Mark { id, note } => {
                let note = note.trim();
                if note.is_empty() {
                    return Answer::Marked(Err(text!("console.note_first").words()));
                }
                let by = self
                    .signed_in
                    .as_ref()
                    .map(|s| s.0.clone())
                    .unwrap_or_default();
                match self
                    .reader
                    .block_on(c.review(&id, &by, self.proof.as_ref(), note))
                {
                    Ok(_) => Answer::Marked(Ok(id)),
                    Err(e) => Answer::Marked(Err(db_words(e))),
                }
            }
            Ask::Report { from, to } => match self.report(&from, &to) {
                Ok((report, weeks)) => Answer::Report { report, weeks },
                Err(w) => Answer::Failed(w),
            },
            Ask::Export {
                tab,
                format,
                include_reviewed,
                query,
                from,
                to,
            } => Answer::Exported(self.export(tab, format, include_reviewed, &query, &from, &to)),
        }
    }

    fn sign_in(&mut self, who: &str, pin: &str) -> Result<(String, String), Words> {
        let found = self
            .reader
            .employee(who)
            .and_then(|e| match e {
                Some(e) => Ok(Some(e)),
                None => self.reader.employee_by_badge(who),
            })
            .map_err(db_words)?;
        let id = found.as_ref().map_or(who, |e| e.id.as_str());
        let central = self.reader.central().clone();
        let typed = Pin::new(pin);
        let decided = central::admit(who, found.as_ref(), |e| {
            self.reader.block_on(central.check_pin(&e.id, &typed))
        })
        .map_err(db_words)?;
        let refusal = match decided {
            Ok((e, proof)) => {
                let me = (e.id.clone(), e.name.clone());
                self.signed_in = Some(me.clone());
                self.proof = Some(proof);
                return Ok(me);
            }
            Err(r) => r,
        };
        Err(match refusal {
            SignInRefusal::Unknown => text!("console.no_such_badge", who = plain(who)),
            SignInRefusal::Inactive => text!("console.not_active", id = id),
            SignInRefusal::NotSupervisor => text!("console.not_a_supervisor", id = id),
            SignInRefusal::Locked { failures: n } => {
                text!("console.locked", id = id, minutes = LOCK_MINUTES, n = n)
            }
            SignInRefusal::NoPin => text!("console.no_pin", id = id),
            SignInRefusal::WrongPin { tries_left: left } => {
                text!("console.wrong_pin", id = id, left = left)
            }
        })
    }

    fn day(&self, s: &str, field: Text) -> Result<NaiveDate, Words> {
        NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .map_err(|_| text!("console.not_a_date", field = field, text = plain(s)))
    }

    fn at(&self, d: NaiveDate) -> DateTime<Utc> {
        let off = *(self.clock)().offset();
        off.from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
            .single()
            .expect("a fixed offset has every time")
            .with_timezone(&Utc)
    }

    /// The report from `from` to `to` (whole days, both included) and the packers' error
    /// rate in each of the [`WEEKS`] weeks that end with `to`.
    fn report(&self, from: &str, to: &str) -> Result<(Report, Vec<Week>), Words> {
        let f = self.day(from, text!("console.date_from"))?;
        let t = self.day(to, text!("console.date_to"))?;
        if t < f {
            return Err(text!(
                "console.report_backwards",
                to = t.to_string(),
                from = f.to_string()
            ));
        }
        let c = self.reader.central().clone();
        let end = t + chrono::Duration::days(1);
        let report = self
            .reader
            .block_on(c.report(self.at(f), self.at(end)))
            .map_err(db_words)?;
        let mut weeks = Vec::with_capacity(WEEKS);
        for i in (0..WEEKS as i64).rev() {
            let start = end - chrono::Duration::days(7 * (i + 1));
            let r = self
                .reader
                .block_on(c.report(self.at(start), self.at(start + chrono::Duration::days(7))))
                .map_err(db_words)?;
            weeks.push(Week { start, report: r });
        }
        Ok((report, weeks))
    }

    fn export(
        &mut self,
        tab: Tab,
        format: ExportFormat,
        include_reviewed: bool,
        query: &str,
        from: &str,
        to: &str,
    ) -> Result<PathBuf, Words> {
        let c = self.reader.central().clone();
        let (now, since) = self.today();
        let (name, list): (&str, Vec<sheet::Sheet>) = match tab {
            Tab::Board => {
                let rows = self
                    .reader
                    .block_on(c.board(ONLINE_WITHIN, since))
                    .map_err(db_words)?;
                ("board", vec![sheets::board(&rows, now.with_timezone(&Utc))])
            }
            Tab::Review => {
                let items = self
                    .reader
                    .block_on(c.review_queue(
                        since - chrono::Duration::days(7),
                        DEVICE_LOST_AFTER,
                        include_reviewed,
                        QUEUE_LIMIT,
                    ))
                    .map_err(db_words)?;
                ("review", vec![sheets::review(&items)])
            }
            Tab::Search => {
                if query.trim().chars().count() >= SEARCH_MIN_CHARS {
                    self.last_hits = self
                        .reader
                        .block_on(c.search(query.trim(), SEARCH_LIMIT))
                        .map_err(db_words)?;
                }
                ("search", vec![sheets::search(&self.last_hits)])
            }
            Tab::Reports => {
                let (r, _) = self.report(from, to)?;
                let [a, b] = sheets::report(&r);
                ("report", vec![a, b])
            }
        };
        let refs: Vec<&sheet::Sheet> = list.iter().collect();
        std::fs::create_dir_all(&self.exports)
            .map_err(|e| fail(format!("creating {}: {e}", self.exports.display())))?;
        let stamp = now.format("%Y%m%d-%H%M%S");
        let path = match format {
            ExportFormat::Xlsx => {
                let p = self.exports.join(format!("{name}-{stamp}.xlsx"));
                sheet::write_xlsx(&refs, &p).map_err(fail)?;
                p
            }
            ExportFormat::Csv => {
                let p = self.exports.join(format!("{name}-{stamp}.csv"));
                let mut f = std::fs::File::create(&p)
                    .map_err(|e| fail(format!("creating {}: {e}", p.display())))?;
                sheet::write_csv(&refs, &mut f).map_err(fail)?;
                p
            }
        };
        tracing::info!(path = %path.display(), "console export");
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_questions_of_a_kind_are_dropped_for_the_newest() {
        let batch = [
            Ask::Board,
            Ask::Search("SF".into()),
            Ask::Board,
            Ask::Search("SF1".into()),
            Ask::Mark {
                id: "a".into(),
                note: "n".into(),
            },
        ];
        let kept = newest(batch.to_vec());
        assert_eq!(kept, batch[2..].to_vec());
    }
}
