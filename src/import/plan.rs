//! Writing checked rows by the import rules: what changed, in one transaction.

#[allow(unused_imports)]
use super::*;

/// Checked rows of one file, ready to write.
#[derive(Debug, Clone)]
pub enum Parsed {
    Catalog(Vec<Sku>),
    Orders(Vec<Order>),
    Employees(Vec<EmployeeRow>),
    Packaging(Vec<Packaging>),
}

impl Parsed {
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Parsed::Catalog(_) => "catalog",
            Parsed::Orders(_) => "orders",
            Parsed::Employees(_) => "employees",
            Parsed::Packaging(_) => "packaging",
        }
    }

    /// Records: SKUs, orders (not order lines), employees or packaging types.
    pub fn len(&self) -> usize {
        match self {
            Parsed::Catalog(x) => x.len(),
            Parsed::Orders(x) => x.len(),
            Parsed::Employees(x) => x.len(),
            Parsed::Packaging(x) => x.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The first `n` rows as they would be stored, in the contract's columns (an order's
    /// lines one row each).
    pub fn preview(&self, n: usize) -> (Vec<&'static str>, Vec<Vec<String>>) {
        let flag = |b: bool| if b { "1" } else { "" }.to_string();
        match self {
            Parsed::Catalog(v) => (
                Kind::Catalog.columns().collect(),
                v.iter()
                    .take(n)
                    .map(|s| {
                        vec![
                            s.sku.clone(),
                            s.name.clone(),
                            s.barcodes
                                .iter()
                                .map(|b| match b.units {
                                    1 => b.code.clone(),
                                    u => format!("{}*{u}", b.code),
                                })
                                .collect::<Vec<_>>()
                                .join("|"),
                            fmt_g(s.unit_weight_g),
                            s.weight_tolerance_g.map(fmt_g).unwrap_or_default(),
                            s.attributes
                                .iter()
                                .map(|(k, v)| format!("{k}={v}"))
                                .collect::<Vec<_>>()
                                .join(";"),
                        ]
                    })
                    .collect(),
            ),
            Parsed::Orders(v) => (
                Kind::Orders.columns().collect(),
                v.iter()
                    .flat_map(|o| {
                        o.lines.iter().map(move |l| {
                            vec![
                                o.order_no.clone(),
                                o.waybill_no.clone(),
                                o.carrier.clone(),
                                o.recipient.clone(),
                                o.country.clone(),
                                o.address.clone(),
                                o.buyer_note.clone(),
                                l.sku.clone(),
                                l.qty.to_string(),
                                o.picker_id.clone().unwrap_or_default(),
                                flag(l.gift),
                                if o.cancelled { "cancelled" } else { "" }.to_string(),
                            ]
                        })
                    })
                    .take(n)
                    .collect(),
            ),
            Parsed::Employees(v) => (
                Kind::Employees.columns().collect(),
                v.iter()
                    .take(n)
                    .map(|e| {
                        vec![
                            e.id.clone(),
                            e.name.clone(),
                            e.roles.to_field(),
                            e.badge.clone(),
                            // Never the PIN itself, not even in a preview.
                            if e.pin.is_some() { "****" } else { "" }.to_string(),
                            if e.active { "1" } else { "0" }.to_string(),
                        ]
                    })
                    .collect(),
            ),
            Parsed::Packaging(v) => (
                Kind::Packaging.columns().collect(),
                v.iter()
                    .take(n)
                    .map(|p| vec![p.code.clone(), p.name.clone(), fmt_g(p.tare_g)])
                    .collect(),
            ),
        }
    }
}

/// Writes checked rows by the import rules, in one transaction of the store: a row equal to
/// the stored one is left alone; a changed order gets a new version and `order_changed`; a
/// cancellation sticks; an `imported` event records the file unless nothing changed (so a
/// re-import changes nothing, not even the log).
pub fn write<S: ReferenceData + ?Sized>(
    store: &mut S,
    parsed: &Parsed,
    meta: &ImportMeta,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ImportReport, StoreError> {
    let mut report = ImportReport::default();
    store.import(&mut |read| {
        let (changes, r) = plan(read, parsed, meta, progress)?;
        report = r;
        Ok(changes)
    })?;
    Ok(report)
}

/// Sets an employee's PIN hash, as an import of that one row would (one transaction, the
/// reference version moves, so a running bench sees it at its next input); false when there
/// is no such employee. Nothing goes in the log: the hash is a secret.
pub fn set_pin<S: ReferenceData + ?Sized>(
    store: &mut S,
    id: &str,
    hash: Option<&crate::domain::pin::PinHash>,
) -> Result<bool, StoreError> {
    let mut found = false;
    store.import(&mut |read| {
        let mut changes = Changes::default();
        if let Some(mut e) = read.employee(id)? {
            found = true;
            if e.pin_hash.as_ref() != hash {
                e.pin_hash = hash.cloned();
                changes.puts.push(Put::Employee(e));
            }
        }
        Ok(changes)
    })?;
    Ok(found)
}

/// The rule part of [`write`]: what to write given what is stored.
pub fn plan(
    read: &dyn ReferenceRead,
    parsed: &Parsed,
    meta: &ImportMeta,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<(Changes, ImportReport), StoreError> {
    let total = parsed.len();
    let mut report = ImportReport {
        rows: total,
        ..Default::default()
    };
    let mut changes = Changes::default();
    let tally = |report: &mut ImportReport, existed: bool| {
        if existed {
            report.changed += 1
        } else {
            report.added += 1
        }
    };
    for n in 0..total {
        if n % 1000 == 0 {
            progress(n, total);
        }
        match parsed {
            Parsed::Catalog(v) => {
                let s = &v[n];
                let old = read.sku(&s.sku)?;
                if old.as_ref() == Some(s) {
                    report.unchanged += 1;
                    continue;
                }
                tally(&mut report, old.is_some());
                changes.puts.push(Put::Sku(s.clone()));
            }
            Parsed::Employees(v) => {
                let old = read.employee(&v[n].id)?;
                let e = v[n].resolve(old.as_ref());
                if old.as_ref() == Some(&e) {
                    report.unchanged += 1;
                    continue;
                }
                tally(&mut report, old.is_some());
                changes.puts.push(Put::Employee(e));
            }
            Parsed::Packaging(v) => {
                let x = &v[n];
                let old = read.packaging(&x.code)?;
                if old.as_ref() == Some(x) {
                    report.unchanged += 1;
                    continue;
                }
                tally(&mut report, old.is_some());
                changes.puts.push(Put::Packaging(x.clone()));
            }
            Parsed::Orders(v) => {
                let o = &v[n];
                let version = o.version();
                let old = read.order_row(&o.order_no)?;
                // A cancellation sticks: an older export without the status column must not
                // bring a cancelled order back to the bench.
                let cancelled = o.cancelled || old.as_ref().is_some_and(|x| x.order.cancelled);
                match &old {
                    Some(x)
                        if x.version == version
                            && x.order.cancelled == cancelled
                            && x.order.picker_id == o.picker_id =>
                    {
                        report.unchanged += 1;
                        continue;
                    }
                    Some(x) => {
                        if x.version != version {
                            report.changed += 1;
                            let changed = OrderChanged {
                                old_version: x.version.clone(),
                                version: version.clone(),
                                file: meta.file.clone(),
                            };
                            changes.events.push(
                                NewEvent::of(changed, meta.at, &meta.station_id)
                                    .actor(Some("import"))
                                    .order(&o.order_no),
                            );
                        } else if !x.order.cancelled && !cancelled {
                            // Only the imported picker changed.
                            report.changed += 1;
                        }
                        if cancelled && !x.order.cancelled {
                            report.cancelled += 1;
                            let cancelled = OrderCancelled {
                                file: meta.file.clone(),
                            };
                            changes.events.push(
                                NewEvent::of(cancelled, meta.at, &meta.station_id)
                                    .actor(Some("import"))
                                    .order(&o.order_no),
                            );
                        }
                    }
                    None => {
                        report.added += 1;
                        if cancelled {
                            report.cancelled += 1;
                        }
                    }
                }
                changes.puts.push(Put::Order(OrderRow {
                    order: Order {
                        cancelled,
                        ..o.clone()
                    },
                    version,
                }));
            }
        }
    }
    // Re-importing the same file changes nothing, not even the log.
    if report.added + report.changed + report.cancelled > 0 {
        let imported = Imported {
            kind: parsed.kind().to_string(),
            file: meta.file.clone(),
            sha256: meta.sha256.clone(),
            rows: report.rows,
            added: report.added,
            changed: report.changed,
            unchanged: report.unchanged,
            cancelled: report.cancelled,
        };
        changes
            .events
            .push(NewEvent::of(imported, meta.at, &meta.station_id).actor(Some("import")));
    }
    Ok((changes, report))
}
