//! Master data in the centre: imports (the bench's import rules, [`crate::import::plan`],
//! written in bulk with COPY) and the benches' catch-up by change id.

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, FixedOffset};
use futures_util::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Transaction;

use super::schema::{CENTRAL_STATION, MASTER_LOCK};
use super::{fmt_at, with_client, Central, CentralError, CheckpointHead, Result};
use crate::domain::event::NewEvent;
use crate::domain::{Employee, Order, Packaging, Sku};
use crate::import::Parsed;
use crate::store::chain::{self, EventFields};
use crate::store::{self, ImportMeta, ImportReport, OrderRow, Put, ReferenceRead};

/// Called with the rows written so far and the rows to write, for a progress bar.
pub type Progress<'a> = &'a mut (dyn FnMut(usize, usize) + Send);

/// Master data changed after a change id, for a bench's local copy.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MasterChanges {
    pub skus: Vec<Sku>,
    /// With `cancelled` as the centre holds it (a cancellation sticks).
    pub orders: Vec<Order>,
    pub employees: Vec<Employee>,
    pub packaging: Vec<Packaging>,
    /// Apply these, then ask again with `upto`.
    pub upto: i64,
    /// More changes follow (the limit was reached).
    pub more: bool,
}

impl MasterChanges {
    pub fn is_empty(&self) -> bool {
        self.skus.is_empty()
            && self.orders.is_empty()
            && self.employees.is_empty()
            && self.packaging.is_empty()
    }
}

fn json_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("serialisable")
}

impl Central {
    /// The highest change id of the master data (0 when empty).
    pub async fn master_head(&self) -> Result<i64> {
        let row = with_client!(self, "reading the master data head", |c| async {
            c.query_one("SELECT pb_master_head() AS head", &[])
                .await
                .map_err(|e| self.query_err("reading the master data head", e))
        })?;
        row.try_get("head")
            .map_err(|e| self.query_err("reading the master data head", e))
    }

    /// Master rows changed after `after`, at most `limit` of them (in change order), read in
    /// one snapshot.
    pub async fn changes_since(&self, after: i64, limit: i64) -> Result<MasterChanges> {
        let what = "reading master data changes";
        let limit = limit.max(1);
        with_client!(self, what, |c| async {
            let err = |e| self.query_err(what, e);
            let tx = c
                .build_transaction()
                .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await
                .map_err(err)?;
            let row = tx
                .query_one(
                    "SELECT max(change_id) AS upto, count(*) AS n FROM (
                        SELECT change_id FROM (
                            SELECT change_id FROM skus WHERE change_id > $1
                            UNION ALL SELECT change_id FROM orders WHERE change_id > $1
                            UNION ALL SELECT change_id FROM employees WHERE change_id > $1
                            UNION ALL SELECT change_id FROM packaging WHERE change_id > $1
                        ) u ORDER BY change_id LIMIT $2) x",
                    &[&after, &limit],
                )
                .await
                .map_err(err)?;
            let upto: Option<i64> = row.try_get("upto").map_err(err)?;
            let count: i64 = row.try_get("n").map_err(err)?;
            let Some(upto) = upto else {
                return Ok(MasterChanges {
                    upto: after,
                    ..Default::default()
                });
            };
            let range: [&(dyn ToSql + Sync); 2] = [&after, &upto];
            let mut out = MasterChanges {
                upto,
                more: count >= limit,
                ..Default::default()
            };
            for r in tx
                .query(
                    "SELECT sku, name, barcodes, unit_weight_g, weight_tolerance_g, attributes
                     FROM skus WHERE change_id > $1 AND change_id <= $2 ORDER BY change_id",
                    &range,
                )
                .await
                .map_err(err)?
            {
                out.skus.push(self.decode(&r)?);
            }
            for r in tx
                .query(
                    "SELECT order_no, waybill_no, carrier, recipient, country, address, buyer_note,
                            lines, picker_id, cancelled
                     FROM orders WHERE change_id > $1 AND change_id <= $2 ORDER BY change_id",
                    &range,
                )
                .await
                .map_err(err)?
            {
                out.orders.push(self.decode(&r)?);
            }
            for r in tx
                .query(
                    // Never the PIN hash (benches may not read it): a bench keeps the hash of a
                    // PIN it saw the centre accept, and a changed employee drops it.
                    "SELECT id, name, roles, badge, NULL::text AS pin_hash, active FROM employees
                     WHERE change_id > $1 AND change_id <= $2 ORDER BY change_id",
                    &range,
                )
                .await
                .map_err(err)?
            {
                out.employees.push(self.decode(&r)?);
            }
            for r in tx
                .query(
                    "SELECT code, name, tare_g FROM packaging
                     WHERE change_id > $1 AND change_id <= $2 ORDER BY change_id",
                    &range,
                )
                .await
                .map_err(err)?
            {
                out.packaging.push(self.decode(&r)?);
            }
            tx.commit().await.map_err(err)?;
            Ok(out)
        })
    }

    /// The whole central catalog (for checking a catalog or orders file before import).
    pub async fn load_catalog(&self) -> Result<Vec<Sku>> {
        let rows = with_client!(self, "reading the catalog", |c| async {
            c.query(
                "SELECT sku, name, barcodes, unit_weight_g, weight_tolerance_g, attributes FROM skus",
                &[],
            )
            .await
            .map_err(|e| self.query_err("reading the catalog", e))
        })?;
        self.decode_all(&rows)
    }

    /// Imports checked rows by the import rules ([`crate::import::plan`], the bench's), all or
    /// nothing: under the master lock, the stored rows the file names are read in one query,
    /// the rules decide, and what they change is written in bulk with its events on the
    /// centre's chain.
    pub async fn import_parsed(
        &self,
        parsed: &Parsed,
        meta: &ImportMeta,
        progress: Progress<'_>,
    ) -> Result<ImportReport> {
        let (kind, what) = match parsed {
            Parsed::Catalog(_) => ("catalog", "importing the catalog"),
            Parsed::Orders(_) => ("orders", "importing orders"),
            Parsed::Employees(_) => ("employees", "importing employees"),
            Parsed::Packaging(_) => ("packaging", "importing packaging"),
        };
        let err = |e| self.query_err(what, e);
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(err)?;
        // Master writers take the master lock first: change ids then follow commit order.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MASTER_LOCK])
            .await
            .map_err(err)?;
        let stored = self.read_stored(&tx, parsed, what).await?;
        // The centre's events are on its own chain, whoever asked.
        let meta = ImportMeta {
            station_id: CENTRAL_STATION.to_string(),
            ..meta.clone()
        };
        let (changes, report) = crate::import::plan(&stored, parsed, &meta, &mut |_, _| {})
            .map_err(|e| self.data_err(e.to_string()))?;
        drop(stored);
        self.write_puts(&tx, &changes.puts, what, progress).await?;
        // Empty when nothing changed: a re-import writes nothing, not even the log.
        if !changes.events.is_empty() {
            append_central(self, &tx, &changes.events).await?;
        }
        tx.commit()
            .await
            .map_err(|e| self.query_err("committing the import", e))?;
        tracing::info!(db = %self.database(), kind, rows = report.rows, added = report.added,
            changed = report.changed, cancelled = report.cancelled, "central import");
        Ok(report)
    }

    /// The stored rows of the file's keys, in one query.
    async fn read_stored(
        &self,
        tx: &Transaction<'_>,
        parsed: &Parsed,
        what: &'static str,
    ) -> Result<Stored> {
        let err = |e| self.query_err(what, e);
        let mut s = Stored::default();
        match parsed {
            Parsed::Catalog(v) => {
                let keys: Vec<&str> = v.iter().map(|x| x.sku.as_str()).collect();
                for r in tx
                    .query(
                        "SELECT sku, name, barcodes, unit_weight_g, weight_tolerance_g, attributes
                         FROM skus WHERE sku = ANY($1)",
                        &[&keys],
                    )
                    .await
                    .map_err(err)?
                {
                    let x: Sku = self.decode(&r)?;
                    s.skus.insert(x.sku.clone(), x);
                }
            }
            Parsed::Orders(v) => {
                let keys: Vec<&str> = v.iter().map(|x| x.order_no.as_str()).collect();
                for r in tx
                    .query(
                        "SELECT order_no, waybill_no, carrier, recipient, country, address,
                                buyer_note, lines, picker_id, cancelled, version
                         FROM orders WHERE order_no = ANY($1)",
                        &[&keys],
                    )
                    .await
                    .map_err(err)?
                {
                    let row: OrderRow = self.decode(&r)?;
                    s.orders.insert(row.order.order_no.clone(), row);
                }
            }
            Parsed::Employees(v) => {
                let keys: Vec<&str> = v.iter().map(|x| x.id.as_str()).collect();
                for r in tx
                    .query(
                        "SELECT id, name, roles, badge, pin_hash, active FROM employees WHERE id = ANY($1)",
                        &[&keys],
                    )
                    .await
                    .map_err(err)?
                {
                    let x: Employee = self.decode(&r)?;
                    s.employees.insert(x.id.clone(), x);
                }
            }
            Parsed::Packaging(v) => {
                let keys: Vec<&str> = v.iter().map(|x| x.code.as_str()).collect();
                for r in tx
                    .query(
                        "SELECT code, name, tare_g FROM packaging WHERE code = ANY($1)",
                        &[&keys],
                    )
                    .await
                    .map_err(err)?
                {
                    let x: Packaging = self.decode(&r)?;
                    s.packaging.insert(x.code.clone(), x);
                }
            }
        }
        Ok(s)
    }

    /// Writes the rows the rules chose: COPY into a temporary table, then one upsert in the
    /// file's order (so change ids follow it).
    async fn write_puts(
        &self,
        tx: &Transaction<'_>,
        puts: &[Put],
        what: &'static str,
        progress: Progress<'_>,
    ) -> Result<()> {
        let err = |e| self.query_err(what, e);
        let total = puts.len();
        let mut done = 0;
        for (slot, bulk) in BULK.iter().enumerate() {
            let rows: Vec<&Put> = puts.iter().filter(|p| bulk_slot(p) == slot).collect();
            if rows.is_empty() {
                continue;
            }
            tx.batch_execute(bulk.create).await.map_err(err)?;
            {
                let sink = tx
                    .copy_in(&format!("COPY {} FROM STDIN BINARY", bulk.temp))
                    .await
                    .map_err(err)?;
                let w = BinaryCopyInWriter::new(sink, bulk.types);
                pin_mut!(w);
                for (n, put) in rows.iter().enumerate() {
                    if done % 1000 == 0 {
                        progress(done, total);
                    }
                    done += 1;
                    let ord = n as i32;
                    match put {
                        Put::Sku(s) => {
                            w.as_mut()
                                .write(&[
                                    &ord,
                                    &s.sku,
                                    &s.name,
                                    &json_text(&s.barcodes),
                                    &s.unit_weight_g,
                                    &s.weight_tolerance_g,
                                    &json_text(&s.attributes),
                                ])
                                .await
                        }
                        Put::Order(r) => {
                            let o = &r.order;
                            w.as_mut()
                                .write(&[
                                    &ord,
                                    &o.order_no,
                                    &o.waybill_no,
                                    &o.carrier,
                                    &o.recipient,
                                    &o.country,
                                    &o.address,
                                    &o.buyer_note,
                                    &json_text(&o.lines),
                                    &o.picker_id,
                                    &o.cancelled,
                                    &r.version,
                                ])
                                .await
                        }
                        Put::Employee(e) => {
                            w.as_mut()
                                .write(&[
                                    &ord,
                                    &e.id,
                                    &e.name,
                                    &e.roles.to_field(),
                                    &e.badge,
                                    &e.pin_hash.as_ref().map(|h| h.as_str()),
                                    &e.active,
                                ])
                                .await
                        }
                        Put::Packaging(x) => {
                            w.as_mut().write(&[&ord, &x.code, &x.name, &x.tare_g]).await
                        }
                    }
                    .map_err(err)?;
                }
                w.finish().await.map_err(err)?;
            }
            if let Some(taken) = bulk.refuse {
                // A badge of another employee: refused by name, before the unique index
                // refuses it with less to say.
                if let Some(r) = tx.query_opt(taken, &[]).await.map_err(err)? {
                    let id: String = r.try_get("id").map_err(err)?;
                    let badge: String = r.try_get("badge").map_err(err)?;
                    return Err(self.data_err(format!(
                        "badge {badge} of {id} is already the badge of another employee"
                    )));
                }
            }
            tx.execute(bulk.upsert, &[]).await.map_err(err)?;
        }
        progress(total, total);
        Ok(())
    }
}

/// The stored rows an import's file names, as [`crate::import::plan`] reads them.
#[derive(Default)]
struct Stored {
    skus: HashMap<String, Sku>,
    orders: HashMap<String, OrderRow>,
    employees: HashMap<String, Employee>,
    packaging: HashMap<String, Packaging>,
}

impl ReferenceRead for Stored {
    fn sku(&self, sku: &str) -> store::Result<Option<Sku>> {
        Ok(self.skus.get(sku).cloned())
    }

    fn order_row(&self, order_no: &str) -> store::Result<Option<OrderRow>> {
        Ok(self.orders.get(order_no).cloned())
    }

    fn employee(&self, id: &str) -> store::Result<Option<Employee>> {
        Ok(self.employees.get(id).cloned())
    }

    fn packaging(&self, code: &str) -> store::Result<Option<Packaging>> {
        Ok(self.packaging.get(code).cloned())
    }
}

/// How one kind of row is written in bulk.
struct Bulk {
    temp: &'static str,
    /// The temporary table (its `ord` keeps the file's order).
    create: &'static str,
    types: &'static [Type],
    /// A query naming the first row that must be refused (employee id, badge).
    refuse: Option<&'static str>,
    upsert: &'static str,
}

/// One per [`Put`] variant, in [`bulk_slot`] order.
const BULK: [Bulk; 4] = [
    Bulk {
        temp: "imp_skus",
        create: "CREATE TEMP TABLE imp_skus (ord integer, sku text, name text, barcodes text,
             unit_weight_g double precision, weight_tolerance_g double precision,
             attributes text) ON COMMIT DROP",
        types: &[
            Type::INT4,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::FLOAT8,
            Type::FLOAT8,
            Type::TEXT,
        ],
        refuse: None,
        upsert:
            "INSERT INTO skus (sku, name, barcodes, unit_weight_g, weight_tolerance_g, attributes)
             SELECT sku, name, barcodes, unit_weight_g, weight_tolerance_g, attributes
             FROM imp_skus ORDER BY ord
             ON CONFLICT (sku) DO UPDATE SET name = excluded.name, barcodes = excluded.barcodes,
                unit_weight_g = excluded.unit_weight_g,
                weight_tolerance_g = excluded.weight_tolerance_g,
                attributes = excluded.attributes",
    },
    Bulk {
        temp: "imp_orders",
        create: "CREATE TEMP TABLE imp_orders (ord integer, order_no text, waybill_no text,
             carrier text, recipient text, country text, address text, buyer_note text,
             lines text, picker_id text, cancelled boolean, version text) ON COMMIT DROP",
        types: &[
            Type::INT4,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::BOOL,
            Type::TEXT,
        ],
        refuse: None,
        upsert: "INSERT INTO orders (order_no, waybill_no, carrier, recipient, country, address,
                buyer_note, lines, picker_id, cancelled, version)
             SELECT order_no, waybill_no, carrier, recipient, country, address, buyer_note,
                lines, picker_id, cancelled, version
             FROM imp_orders ORDER BY ord
             ON CONFLICT (order_no) DO UPDATE SET waybill_no = excluded.waybill_no,
                carrier = excluded.carrier, recipient = excluded.recipient,
                country = excluded.country, address = excluded.address,
                buyer_note = excluded.buyer_note, lines = excluded.lines,
                picker_id = excluded.picker_id, cancelled = excluded.cancelled,
                version = excluded.version",
    },
    Bulk {
        temp: "imp_employees",
        create: "CREATE TEMP TABLE imp_employees (ord integer, id text, name text, roles text,
             badge text, pin_hash text, active boolean) ON COMMIT DROP",
        types: &[
            Type::INT4,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::TEXT,
            Type::BOOL,
        ],
        refuse: Some(
            "SELECT i.id, i.badge FROM imp_employees i
             JOIN employees e ON e.badge = i.badge AND e.id <> i.id
             ORDER BY i.ord LIMIT 1",
        ),
        upsert: "INSERT INTO employees (id, name, roles, badge, pin_hash, active)
             SELECT id, name, roles, badge, pin_hash, active FROM imp_employees ORDER BY ord
             ON CONFLICT (id) DO UPDATE SET name = excluded.name, roles = excluded.roles,
                badge = excluded.badge, pin_hash = excluded.pin_hash, active = excluded.active",
    },
    Bulk {
        temp: "imp_packaging",
        create: "CREATE TEMP TABLE imp_packaging (ord integer, code text, name text,
             tare_g double precision) ON COMMIT DROP",
        types: &[Type::INT4, Type::TEXT, Type::TEXT, Type::FLOAT8],
        refuse: None,
        upsert: "INSERT INTO packaging (code, name, tare_g)
             SELECT code, name, tare_g FROM imp_packaging ORDER BY ord
             ON CONFLICT (code) DO UPDATE SET name = excluded.name, tare_g = excluded.tare_g",
    },
];

fn bulk_slot(put: &Put) -> usize {
    match put {
        Put::Sku(_) => 0,
        Put::Order(_) => 1,
        Put::Employee(_) => 2,
        Put::Packaging(_) => 3,
    }
}

/// Appends events to the chain of the pseudo-station `central`, hashed as a bench hashes
/// its own, within the caller's transaction.
pub(crate) async fn append_central(
    central: &Central,
    tx: &Transaction<'_>,
    events: &[NewEvent],
) -> Result<()> {
    let what = "writing the centre's events";
    let err = |e| central.query_err(what, e);
    tx.execute(
        "INSERT INTO bench_heads (station_id) VALUES ($1) ON CONFLICT DO NOTHING",
        &[&CENTRAL_STATION],
    )
    .await
    .map_err(err)?;
    let head = tx
        .query_one(
            "SELECT station_id, seq, hash FROM bench_heads WHERE station_id = $1 FOR UPDATE",
            &[&CENTRAL_STATION],
        )
        .await
        .map_err(err)?;
    let CheckpointHead {
        mut seq,
        hash: head_hash,
        ..
    } = central.decode(&head)?;
    let mut prev = chain::parse_hash(&head_hash)
        .ok_or_else(|| central.data_err("the centre's own chain head has a malformed hash"))?;
    {
        let sink = tx
            .copy_in(
                "COPY events (station_id, seq, at, at_ts, type, actor, order_no, data, prev_hash, hash)
                 FROM STDIN BINARY",
            )
            .await
            .map_err(err)?;
        let w = BinaryCopyInWriter::new(
            sink,
            &[
                Type::TEXT,
                Type::INT8,
                Type::TEXT,
                Type::TIMESTAMPTZ,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
                Type::TEXT,
            ],
        );
        pin_mut!(w);
        for e in events {
            seq += 1;
            let at = fmt_at(&e.at);
            let at_ts: DateTime<FixedOffset> = DateTime::parse_from_rfc3339(&at)
                .map_err(|x| central.data_err(format!("event time {at}: {x}")))?;
            let data = serde_json::to_string(&e.data).expect("a JSON map always serialises");
            let hash = chain::event_hash(
                &prev,
                &EventFields {
                    seq,
                    at: &at,
                    kind: e.kind.as_str(),
                    actor: e.actor.as_deref(),
                    station_id: CENTRAL_STATION,
                    order_no: e.order_no.as_deref(),
                    data: &data,
                },
            );
            let prev_hex = hex::encode(prev);
            let hash_hex = hex::encode(hash);
            w.as_mut()
                .write(&[
                    &CENTRAL_STATION,
                    &seq,
                    &at,
                    &at_ts,
                    &e.kind.as_str(),
                    &e.actor,
                    &e.order_no,
                    &data,
                    &prev_hex,
                    &hash_hex,
                ])
                .await
                .map_err(err)?;
            prev = hash;
        }
        w.finish().await.map_err(err)?;
    }
    tx.execute(
        "UPDATE bench_heads SET seq = $2, hash = $3, last_seen = now() WHERE station_id = $1",
        &[&CENTRAL_STATION, &seq, &hex::encode(prev)],
    )
    .await
    .map_err(err)?;
    Ok(())
}

/// Reads and checks a file for a central import against the centre's catalog, with the same
/// parsers and checks as a bench's ([`crate::import::check_rows`]); writes nothing, so it is
/// also `packbench import --dry-run --central`.
pub async fn check_file(
    central: &Central,
    kind: crate::import::Kind,
    path: &Path,
    opts: &crate::import::ReadOptions,
    on_progress: &mut (dyn FnMut(crate::import::Phase) + Send),
) -> Result<crate::import::Checked> {
    // The bench's read-then-check, with the centre's catalog loaded between the halves.
    let file = crate::import::read_file(path, kind, opts, &mut *on_progress)?;
    let catalog = if file.needs_catalog() {
        central.load_catalog().await?
    } else {
        Vec::new()
    };
    Ok(file.check(&catalog)?)
}

/// `packbench import KIND FILE --central URL`: reads and checks the file ([`check_file`]),
/// then imports it centrally, all or nothing.
pub async fn import_file(
    central: &Central,
    kind: crate::import::Kind,
    path: &Path,
    opts: &crate::import::ReadOptions,
    at: DateTime<FixedOffset>,
    on_progress: &mut (dyn FnMut(crate::import::Phase) + Send),
) -> Result<ImportReport> {
    let checked = check_file(central, kind, path, opts, &mut *on_progress).await?;
    central
        .import_parsed(
            &checked.parsed,
            &checked.meta(CENTRAL_STATION, at),
            &mut |done, total| on_progress(crate::import::Phase::Writing(done, total)),
        )
        .await
}

/// Imports the [`crate::import::DATA_SET`] files of `dir` centrally, each as [`import_file`]
/// does (the same set a bench's `import::import_data_set` takes).
pub async fn import_data_set(
    central: &Central,
    dir: &Path,
    at: DateTime<FixedOffset>,
) -> Result<()> {
    for (kind, file) in crate::import::DATA_SET {
        let opts = crate::import::ReadOptions::default();
        import_file(central, kind, &dir.join(file), &opts, at, &mut |_| {}).await?;
    }
    Ok(())
}

impl From<crate::import::ImportError> for CentralError {
    fn from(e: crate::import::ImportError) -> Self {
        CentralError::File {
            file: e.file.clone(),
            message: format!("{}: {}", e.where_, e.message),
        }
    }
}
