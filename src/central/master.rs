//! Master data in the centre: imports (the SQLite importer's rules, written in bulk with
//! COPY) and the benches' catch-up by change id.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, FixedOffset};
use futures_util::pin_mut;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Transaction;

use super::schema::{CENTRAL_STATION, MASTER_LOCK};
use super::{fmt_at, with_client, Central, CentralError, Result};
use crate::domain::catalog::BarcodeEntry;
use crate::domain::event::{EventType, NewEvent};
use crate::domain::{Employee, Order, OrderLine, Packaging, Roles, Sku};
use crate::store::chain::{self, EventFields};
use crate::store::{ImportMeta, ImportReport};

/// Called with the number of records written so far, for a progress bar.
pub type Progress<'a> = &'a mut (dyn FnMut(usize) + Send);

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
            c.query_one("SELECT pb_master_head()", &[])
                .await
                .map_err(|e| self.query_err("reading the master data head", e))
        })?;
        Ok(row.get(0))
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
                    "SELECT max(change_id), count(*) FROM (
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
            let upto: Option<i64> = row.get(0);
            let count: i64 = row.get(1);
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
                out.skus.push(self.row_to_sku(&r)?);
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
                let lines: String = r.get(7);
                let lines: Vec<OrderLine> = serde_json::from_str(&lines).map_err(|e| {
                    self.data_err(format!(
                        "order {} has unreadable lines: {e}",
                        r.get::<_, String>(0)
                    ))
                })?;
                out.orders.push(Order {
                    order_no: r.get(0),
                    waybill_no: r.get(1),
                    carrier: r.get(2),
                    recipient: r.get(3),
                    country: r.get(4),
                    address: r.get(5),
                    buyer_note: r.get(6),
                    lines,
                    picker_id: r.get(8),
                    cancelled: r.get(9),
                });
            }
            for r in tx
                .query(
                    "SELECT id, name, roles, badge FROM employees
                     WHERE change_id > $1 AND change_id <= $2 ORDER BY change_id",
                    &range,
                )
                .await
                .map_err(err)?
            {
                let roles: String = r.get(2);
                out.employees.push(Employee {
                    id: r.get(0),
                    name: r.get(1),
                    roles: Roles::parse(&roles).unwrap_or_default(),
                    badge: r.get(3),
                });
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
                out.packaging.push(Packaging {
                    code: r.get(0),
                    name: r.get(1),
                    tare_g: r.get(2),
                });
            }
            tx.commit().await.map_err(err)?;
            Ok(out)
        })
    }

    fn row_to_sku(&self, r: &tokio_postgres::Row) -> Result<Sku> {
        let sku: String = r.get(0);
        let barcodes: String = r.get(2);
        let attributes: String = r.get(5);
        Ok(Sku {
            name: r.get(1),
            barcodes: serde_json::from_str::<Vec<BarcodeEntry>>(&barcodes)
                .map_err(|e| self.data_err(format!("SKU {sku} has unreadable barcodes: {e}")))?,
            unit_weight_g: r.get(3),
            weight_tolerance_g: r.get(4),
            attributes: serde_json::from_str(&attributes)
                .map_err(|e| self.data_err(format!("SKU {sku} has unreadable attributes: {e}")))?,
            sku,
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
        rows.iter().map(|r| self.row_to_sku(r)).collect()
    }

    /// Imports checked catalog rows: all or nothing, unchanged rows untouched.
    pub async fn import_catalog(
        &self,
        skus: &[Sku],
        meta: &ImportMeta,
        progress: Progress<'_>,
    ) -> Result<ImportReport> {
        let what = "importing the catalog";
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(|e| self.query_err(what, e))?;
        let err = |e| self.query_err(what, e);
        begin_import(
            &tx,
            "CREATE TEMP TABLE imp (ord integer, sku text, name text, barcodes text,
                 unit_weight_g double precision, weight_tolerance_g double precision,
                 attributes text) ON COMMIT DROP",
        )
        .await
        .map_err(err)?;
        {
            let sink = tx
                .copy_in("COPY imp FROM STDIN BINARY")
                .await
                .map_err(err)?;
            let w = BinaryCopyInWriter::new(
                sink,
                &[
                    Type::INT4,
                    Type::TEXT,
                    Type::TEXT,
                    Type::TEXT,
                    Type::FLOAT8,
                    Type::FLOAT8,
                    Type::TEXT,
                ],
            );
            pin_mut!(w);
            for (n, s) in skus.iter().enumerate() {
                if n % 1000 == 0 {
                    progress(n);
                }
                let ord = n as i32;
                let barcodes = json_text(&s.barcodes);
                let attributes = json_text(&s.attributes);
                w.as_mut()
                    .write(&[
                        &ord,
                        &s.sku,
                        &s.name,
                        &barcodes,
                        &s.unit_weight_g,
                        &s.weight_tolerance_g,
                        &attributes,
                    ])
                    .await
                    .map_err(err)?;
            }
            w.finish().await.map_err(err)?;
        }
        let row = tx
            .query_one(
                "SELECT count(*) FILTER (WHERE s.sku IS NULL),
                        count(*) FILTER (WHERE s.sku IS NOT NULL
                            AND (s.name, s.barcodes, s.unit_weight_g, s.weight_tolerance_g, s.attributes)
                                IS DISTINCT FROM (i.name, i.barcodes, i.unit_weight_g, i.weight_tolerance_g, i.attributes))
                 FROM imp i LEFT JOIN skus s USING (sku)",
                &[],
            )
            .await
            .map_err(err)?;
        let mut report = ImportReport {
            rows: skus.len(),
            added: row.get::<_, i64>(0) as usize,
            changed: row.get::<_, i64>(1) as usize,
            ..Default::default()
        };
        report.unchanged = report.rows - report.added - report.changed;
        if report.added + report.changed > 0 {
            tx.execute(
                "INSERT INTO skus (sku, name, barcodes, unit_weight_g, weight_tolerance_g, attributes)
                 SELECT i.sku, i.name, i.barcodes, i.unit_weight_g, i.weight_tolerance_g, i.attributes
                 FROM imp i LEFT JOIN skus s USING (sku)
                 WHERE s.sku IS NULL
                    OR (s.name, s.barcodes, s.unit_weight_g, s.weight_tolerance_g, s.attributes)
                       IS DISTINCT FROM (i.name, i.barcodes, i.unit_weight_g, i.weight_tolerance_g, i.attributes)
                 ORDER BY i.ord
                 ON CONFLICT (sku) DO UPDATE SET name = excluded.name, barcodes = excluded.barcodes,
                    unit_weight_g = excluded.unit_weight_g, weight_tolerance_g = excluded.weight_tolerance_g,
                    attributes = excluded.attributes",
                &[],
            )
            .await
            .map_err(err)?;
        }
        progress(skus.len());
        finish_import(self, tx, "catalog", meta, &report, Vec::new()).await?;
        Ok(report)
    }

    /// Imports checked orders: a cancellation sticks, a new version is an `order_changed`
    /// event, a new cancellation an `order_cancelled`, an unchanged re-import writes nothing.
    pub async fn import_orders(
        &self,
        orders: &[Order],
        meta: &ImportMeta,
        progress: Progress<'_>,
    ) -> Result<ImportReport> {
        let what = "importing orders";
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(|e| self.query_err(what, e))?;
        let err = |e| self.query_err(what, e);
        begin_import(
            &tx,
            "CREATE TEMP TABLE imp (ord integer, order_no text, waybill_no text,
                 carrier text, recipient text, country text, address text, buyer_note text,
                 lines text, picker_id text, cancelled boolean, version text) ON COMMIT DROP",
        )
        .await
        .map_err(err)?;
        {
            let sink = tx
                .copy_in("COPY imp FROM STDIN BINARY")
                .await
                .map_err(err)?;
            let w = BinaryCopyInWriter::new(
                sink,
                &[
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
            );
            pin_mut!(w);
            for (n, o) in orders.iter().enumerate() {
                if n % 1000 == 0 {
                    progress(n);
                }
                let ord = n as i32;
                let lines = json_text(&o.lines);
                let version = o.version();
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
                        &lines,
                        &o.picker_id,
                        &o.cancelled,
                        &version,
                    ])
                    .await
                    .map_err(err)?;
            }
            w.finish().await.map_err(err)?;
        }
        // Only the rows the SQLite importer would write: new, new version, newly cancelled
        // or another picker.
        const CHANGED: &str = "o.order_no IS NULL OR o.version <> i.version
            OR (i.cancelled AND NOT o.cancelled) OR o.picker_id IS DISTINCT FROM i.picker_id";
        let rows = tx
            .query(
                &format!(
                    "SELECT i.order_no, o.version, i.version, o.cancelled, i.cancelled OR coalesce(o.cancelled, false)
                     FROM imp i LEFT JOIN orders o USING (order_no)
                     WHERE {CHANGED} ORDER BY i.ord"
                ),
                &[],
            )
            .await
            .map_err(err)?;
        let mut report = ImportReport {
            rows: orders.len(),
            ..Default::default()
        };
        report.unchanged = orders.len() - rows.len();
        let mut events = Vec::new();
        for r in &rows {
            let order_no: String = r.get(0);
            let old_version: Option<String> = r.get(1);
            let version: String = r.get(2);
            let old_cancelled: Option<bool> = r.get(3);
            let cancelled: bool = r.get(4);
            match (old_version, old_cancelled) {
                (Some(v), Some(c)) => {
                    if v != version {
                        report.changed += 1;
                        events.push(
                            NewEvent::new(EventType::OrderChanged, meta.at, CENTRAL_STATION)
                                .actor(Some("import"))
                                .order(&order_no)
                                .with("old_version", v.as_str())
                                .with("version", version.as_str())
                                .with("file", meta.file.as_str()),
                        );
                    } else if !c && !cancelled {
                        // Only the imported picker changed.
                        report.changed += 1;
                    }
                    if cancelled && !c {
                        report.cancelled += 1;
                        events.push(
                            NewEvent::new(EventType::OrderCancelled, meta.at, CENTRAL_STATION)
                                .actor(Some("import"))
                                .order(&order_no)
                                .with("file", meta.file.as_str()),
                        );
                    }
                }
                _ => {
                    report.added += 1;
                    if cancelled {
                        report.cancelled += 1;
                    }
                }
            }
        }
        if !rows.is_empty() {
            // The constant above is the only text spliced in: no values are.
            tx.execute(
                &format!(
                    "INSERT INTO orders (order_no, waybill_no, carrier, recipient, country, address,
                        buyer_note, lines, picker_id, cancelled, version)
                     SELECT i.order_no, i.waybill_no, i.carrier, i.recipient, i.country, i.address,
                        i.buyer_note, i.lines, i.picker_id, i.cancelled OR coalesce(o.cancelled, false), i.version
                     FROM imp i LEFT JOIN orders o USING (order_no)
                     WHERE {CHANGED} ORDER BY i.ord
                     ON CONFLICT (order_no) DO UPDATE SET waybill_no = excluded.waybill_no,
                        carrier = excluded.carrier, recipient = excluded.recipient,
                        country = excluded.country, address = excluded.address,
                        buyer_note = excluded.buyer_note, lines = excluded.lines,
                        picker_id = excluded.picker_id, cancelled = excluded.cancelled,
                        version = excluded.version"
                ),
                &[],
            )
            .await
            .map_err(err)?;
        }
        progress(orders.len());
        finish_import(self, tx, "orders", meta, &report, events).await?;
        Ok(report)
    }

    /// Imports checked employees; a badge already given to another employee is refused.
    pub async fn import_employees(
        &self,
        emps: &[Employee],
        meta: &ImportMeta,
        progress: Progress<'_>,
    ) -> Result<ImportReport> {
        let what = "importing employees";
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(|e| self.query_err(what, e))?;
        let err = |e| self.query_err(what, e);
        begin_import(
            &tx,
            "CREATE TEMP TABLE imp (ord integer, id text, name text, roles text,
                 badge text) ON COMMIT DROP",
        )
        .await
        .map_err(err)?;
        {
            let sink = tx
                .copy_in("COPY imp FROM STDIN BINARY")
                .await
                .map_err(err)?;
            let w = BinaryCopyInWriter::new(
                sink,
                &[Type::INT4, Type::TEXT, Type::TEXT, Type::TEXT, Type::TEXT],
            );
            pin_mut!(w);
            for (n, e) in emps.iter().enumerate() {
                if n % 1000 == 0 {
                    progress(n);
                }
                let ord = n as i32;
                let roles = e.roles.to_field();
                w.as_mut()
                    .write(&[&ord, &e.id, &e.name, &roles, &e.badge])
                    .await
                    .map_err(err)?;
            }
            w.finish().await.map_err(err)?;
        }
        if let Some(r) = tx
            .query_opt(
                "SELECT i.id, i.badge FROM imp i JOIN employees e ON e.badge = i.badge AND e.id <> i.id
                 ORDER BY i.ord LIMIT 1",
                &[],
            )
            .await
            .map_err(err)?
        {
            return Err(self.data_err(format!(
                "badge {} of {} is already the badge of another employee",
                r.get::<_, String>(1),
                r.get::<_, String>(0)
            )));
        }
        const CHANGED: &str = "e.id IS NULL OR (e.name, e.roles, e.badge) IS DISTINCT FROM (i.name, i.roles, i.badge)";
        let row = tx
            .query_one(
                &format!(
                    "SELECT count(*) FILTER (WHERE e.id IS NULL), count(*) FILTER (WHERE {CHANGED})
                     FROM imp i LEFT JOIN employees e USING (id)"
                ),
                &[],
            )
            .await
            .map_err(err)?;
        let added = row.get::<_, i64>(0) as usize;
        let touched = row.get::<_, i64>(1) as usize;
        let report = ImportReport {
            rows: emps.len(),
            added,
            changed: touched - added,
            unchanged: emps.len() - touched,
            cancelled: 0,
        };
        if touched > 0 {
            tx.execute(
                &format!(
                    "INSERT INTO employees (id, name, roles, badge)
                     SELECT i.id, i.name, i.roles, i.badge FROM imp i LEFT JOIN employees e USING (id)
                     WHERE {CHANGED} ORDER BY i.ord
                     ON CONFLICT (id) DO UPDATE SET name = excluded.name, roles = excluded.roles,
                        badge = excluded.badge"
                ),
                &[],
            )
            .await
            .map_err(err)?;
        }
        progress(emps.len());
        finish_import(self, tx, "employees", meta, &report, Vec::new()).await?;
        Ok(report)
    }

    /// Imports checked packaging types.
    pub async fn import_packaging(
        &self,
        p: &[Packaging],
        meta: &ImportMeta,
        progress: Progress<'_>,
    ) -> Result<ImportReport> {
        let what = "importing packaging";
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(|e| self.query_err(what, e))?;
        let err = |e| self.query_err(what, e);
        begin_import(
            &tx,
            "CREATE TEMP TABLE imp (ord integer, code text, name text, tare_g double precision) ON COMMIT DROP",
        )
        .await
        .map_err(err)?;
        {
            let sink = tx
                .copy_in("COPY imp FROM STDIN BINARY")
                .await
                .map_err(err)?;
            let w =
                BinaryCopyInWriter::new(sink, &[Type::INT4, Type::TEXT, Type::TEXT, Type::FLOAT8]);
            pin_mut!(w);
            for (n, x) in p.iter().enumerate() {
                if n % 1000 == 0 {
                    progress(n);
                }
                let ord = n as i32;
                w.as_mut()
                    .write(&[&ord, &x.code, &x.name, &x.tare_g])
                    .await
                    .map_err(err)?;
            }
            w.finish().await.map_err(err)?;
        }
        const CHANGED: &str =
            "k.code IS NULL OR (k.name, k.tare_g) IS DISTINCT FROM (i.name, i.tare_g)";
        let row = tx
            .query_one(
                &format!(
                    "SELECT count(*) FILTER (WHERE k.code IS NULL), count(*) FILTER (WHERE {CHANGED})
                     FROM imp i LEFT JOIN packaging k USING (code)"
                ),
                &[],
            )
            .await
            .map_err(err)?;
        let added = row.get::<_, i64>(0) as usize;
        let touched = row.get::<_, i64>(1) as usize;
        let report = ImportReport {
            rows: p.len(),
            added,
            changed: touched - added,
            unchanged: p.len() - touched,
            cancelled: 0,
        };
        if touched > 0 {
            tx.execute(
                &format!(
                    "INSERT INTO packaging (code, name, tare_g)
                     SELECT i.code, i.name, i.tare_g FROM imp i LEFT JOIN packaging k USING (code)
                     WHERE {CHANGED} ORDER BY i.ord
                     ON CONFLICT (code) DO UPDATE SET name = excluded.name, tare_g = excluded.tare_g"
                ),
                &[],
            )
            .await
            .map_err(err)?;
        }
        progress(p.len());
        finish_import(self, tx, "packaging", meta, &report, Vec::new()).await?;
        Ok(report)
    }
}

/// Master writers take the master lock first: change ids then follow commit order.
async fn begin_import(
    tx: &Transaction<'_>,
    create_temp: &str,
) -> std::result::Result<(), tokio_postgres::Error> {
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MASTER_LOCK])
        .await?;
    tx.batch_execute(create_temp).await
}

/// The import's events on the centre's chain, then commit. An import that changed nothing
/// writes nothing, not even the log (as on a bench).
async fn finish_import(
    central: &Central,
    tx: deadpool_postgres::Transaction<'_>,
    kind: &str,
    meta: &ImportMeta,
    report: &ImportReport,
    mut events: Vec<NewEvent>,
) -> Result<()> {
    if report.added + report.changed + report.cancelled > 0 {
        events.push(
            NewEvent::new(EventType::Imported, meta.at, CENTRAL_STATION)
                .actor(Some("import"))
                .with("kind", kind)
                .with("file", meta.file.as_str())
                .with("sha256", meta.sha256.as_str())
                .with("rows", report.rows)
                .with("added", report.added)
                .with("changed", report.changed)
                .with("unchanged", report.unchanged)
                .with("cancelled", report.cancelled),
        );
        append_central(central, &tx, &events).await?;
    }
    tx.commit()
        .await
        .map_err(|e| central.query_err("committing the import", e))?;
    tracing::info!(db = %central.database(), kind, rows = report.rows, added = report.added,
        changed = report.changed, cancelled = report.cancelled, "central import");
    Ok(())
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
            "SELECT seq, hash FROM bench_heads WHERE station_id = $1 FOR UPDATE",
            &[&CENTRAL_STATION],
        )
        .await
        .map_err(err)?;
    let mut seq: i64 = head.get(0);
    let head_hash: String = head.get(1);
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

/// `packbench import KIND FILE --central URL`: reads and checks the file with the same
/// parsers as a bench import ([`crate::import`]), then imports it centrally, all or nothing.
pub async fn import_file(
    central: &Central,
    kind: crate::import::Kind,
    path: &Path,
    opts: &crate::import::ReadOptions,
    at: DateTime<FixedOffset>,
    on_progress: &mut (dyn FnMut(crate::import::Phase) + Send),
) -> Result<ImportReport> {
    use crate::import::{self as imp, Kind, Phase};
    on_progress(Phase::Reading);
    let rows = imp::read_rows(path, kind, opts)?;
    let meta = ImportMeta {
        file: path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256: rows.sha256.clone(),
        station_id: CENTRAL_STATION.to_string(),
        at,
    };
    let total = rows.rows.len();
    on_progress(Phase::Checking(total));
    Ok(match kind {
        Kind::Catalog => {
            let existing = central.load_catalog().await?;
            let skus = imp::parse_catalog(&rows, &existing)?;
            let n = skus.len();
            central
                .import_catalog(&skus, &meta, &mut |k| on_progress(Phase::Writing(k, n)))
                .await?
        }
        Kind::Orders => {
            let skus: HashSet<String> = central
                .load_catalog()
                .await?
                .into_iter()
                .map(|s| s.sku)
                .collect();
            let orders = imp::parse_orders(&rows, &skus)?;
            let n = orders.len();
            central
                .import_orders(&orders, &meta, &mut |k| on_progress(Phase::Writing(k, n)))
                .await?
        }
        Kind::Employees => {
            let e = imp::parse_employees(&rows)?;
            let n = e.len();
            central
                .import_employees(&e, &meta, &mut |k| on_progress(Phase::Writing(k, n)))
                .await?
        }
        Kind::Packaging => {
            let p = imp::parse_packaging(&rows)?;
            let n = p.len();
            central
                .import_packaging(&p, &meta, &mut |k| on_progress(Phase::Writing(k, n)))
                .await?
        }
    })
}

impl From<crate::import::ImportError> for CentralError {
    fn from(e: crate::import::ImportError) -> Self {
        CentralError::File {
            file: e.file.clone(),
            message: format!("{}: {}", e.where_, e.message),
        }
    }
}
