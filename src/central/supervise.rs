//! What supervisors read across the whole floor: the bench board, the review queue, search,
//! and reports per packer and per bench (`packbench audit board|review|search|report
//! --central URL`, and the console). Reads only, but for [`Central::review`], which records
//! a supervisor's mark as a `reviewed` event on the centre's chain.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::schema::CENTRAL_STATION;
use tokio_postgres::Row;

use super::{with_client, Central, Result};
use crate::domain::event::DeviceStatus;
use crate::store::row::{FromRow, RowError};

/// One bench on the board.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoardRow {
    pub station_id: String,
    pub online: bool,
    pub last_seen: Option<DateTime<Utc>>,
    pub packer_id: Option<String>,
    pub packer_name: Option<String>,
    /// The order it holds and since when.
    pub held_order: Option<String>,
    pub held_since: Option<DateTime<Utc>>,
    pub orders_today: i64,
    pub units_today: i64,
    /// Orders packed in the current clock hour.
    pub orders_this_hour: i64,
    pub last_refusal: Option<LastRefusal>,
    pub open_alarms: i64,
    pub last_alarm: Option<String>,
    /// Device → state (`connected`, `disconnected`, `error`, `simulated`).
    pub devices: Vec<(String, String)>,
    /// Events not yet central, as the bench last reported.
    pub backlog: Option<i64>,
    /// The supervisor this bench waits for, if it does (`null` in JSON otherwise).
    pub waiting: Option<Waiting>,
    /// How much is wrong here: the board sorts by it, worst first.
    pub trouble: i64,
}

/// A bench waiting for a supervisor's approval (`bench_heads.waiting_*`, kept by
/// `pb_board_track` from the weighing that needs it until it is settled: migration 6).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Waiting {
    /// As in `override`: `weight_mismatch`, `picker_unknown`, …; passed through as stored.
    pub cause: String,
    pub order_no: Option<String>,
    pub since: DateTime<Utc>,
}

/// A waiting bench's trouble: above any other, so it sorts first (someone stands there).
const WAITING_TROUBLE: i64 = 1000;

impl BoardRow {
    fn score(&mut self) {
        let lost = self
            .devices
            .iter()
            .filter(|(_, s)| DeviceStatus::parse(s).is_some_and(DeviceStatus::is_lost))
            .count() as i64;
        self.trouble = self.waiting.is_some() as i64 * WAITING_TROUBLE
            + (!self.online) as i64 * 100
            + self.open_alarms.min(9) * 20
            + lost * 10
            + (self.backlog.unwrap_or(0) > 100) as i64 * 5;
    }
}

/// A bench's last refusal as the centre keeps it (`bench_heads.last_refusal`, written by
/// `pb_board_track` from the `scan_rejected` event). Fields in alphabetical order, the order
/// the board's JSON had them in as a map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LastRefusal {
    /// The event's time as the bench wrote it (RFC 3339, the bench's offset).
    pub at: String,
    pub code: Option<String>,
    pub detail: Option<String>,
    pub reason: Option<String>,
    pub seq: i64,
}

impl LastRefusal {
    /// `None`, logged, when the stored JSON does not have this shape (the schema writes it).
    fn read(station_id: &str, v: Option<Value>) -> Option<LastRefusal> {
        serde_json::from_value(v?)
            .inspect_err(|e| {
                tracing::error!(station = station_id, "board: last refusal not read: {e}")
            })
            .ok()
    }
}

/// One thing a supervisor should look at.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReviewItem {
    /// `STATION:SEQ` for an event, `alarm:ID` for an alarm: what `audit review` takes.
    pub id: String,
    /// `weight_mismatch`, `override`, `hold`, `device_lost`, or the alarm's kind
    /// (`claim_conflict`, `fork`, `bad_chain`, `bad_hash`, `gap`, `bad_event`).
    pub kind: String,
    pub at: DateTime<Utc>,
    pub station_id: Option<String>,
    pub order_no: Option<String>,
    /// Who: the packer, or the supervisor of an override.
    pub actor: Option<String>,
    /// The actor's name, when the actor is an employee.
    pub actor_name: Option<String>,
    pub detail: String,
    /// The facts behind `detail` (an event's own fields, an alarm's detail and count, with
    /// the names of the people in them), for a screen that says them in its language.
    #[serde(skip)]
    pub facts: Option<Value>,
    pub reviewed_by: Option<String>,
    /// The reviewer's name.
    pub reviewed_by_name: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

/// What a search hit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    Order,
    Sku,
    Employee,
}

impl HitKind {
    pub const ALL: [HitKind; 3] = [HitKind::Order, HitKind::Sku, HitKind::Employee];

    /// As the search query and its JSON name it.
    pub fn as_str(self) -> &'static str {
        match self {
            HitKind::Order => "order",
            HitKind::Sku => "sku",
            HitKind::Employee => "employee",
        }
    }

    pub fn parse(s: &str) -> Option<HitKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// What a search found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub kind: HitKind,
    /// The order number, SKU or employee id.
    pub key: String,
    /// Waybill · recipient, the SKU's name, or the employee's name.
    pub label: String,
    /// Where the order is: the bench holding or having packed it.
    pub station_id: Option<String>,
    /// `packed`, `held`, `open` or `cancelled` for orders.
    pub state: Option<String>,
}

/// One row of a report, per packer or per bench.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReportRow {
    /// The packer's id or the bench's station id.
    pub key: String,
    pub name: Option<String>,
    pub orders: i64,
    pub units: i64,
    /// Wrong, extra and unknown items stopped at the bench.
    pub wrong_items_caught: i64,
    pub mismatches: i64,
    pub overrides: i64,
    pub reprints: i64,
    /// Returns closed as a wrong or missing item that the check-in confirmed.
    pub errors_after_shipping: i64,
    /// Orders packed in which a wrong, extra or unknown item was refused or a weighing
    /// failed: each order once.
    pub orders_with_caught_error: i64,
    /// Orders packed whose return confirmed a packing error (a wrong or missing item): each
    /// order once, in the period it was packed.
    pub orders_with_packing_error: i64,
    /// `orders_with_caught_error / orders` (0..1, `null` without orders).
    pub caught_error_rate: Option<f64>,
    /// `orders_with_packing_error / orders` (0..1, `null` without orders).
    pub packing_error_rate: Option<f64>,
}

/// A count of orders over the orders packed, to four places (`None` without orders): the
/// one definition of the reports' rates, for the centre, the bench log and the console.
pub fn per_order_rate(n: i64, orders: i64) -> Option<f64> {
    (orders > 0).then(|| ((n as f64 / orders as f64) * 10_000.0).round() / 10_000.0)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub from: String,
    pub to: String,
    pub per_packer: Vec<ReportRow>,
    pub per_bench: Vec<ReportRow>,
}

/// Orders packed per hour at one bench: `(hour start, orders)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourlyRow {
    pub station_id: String,
    pub hour: DateTime<Utc>,
    pub orders: i64,
}

impl FromRow<Row> for BoardRow {
    fn from_row(r: &Row) -> std::result::Result<Self, RowError> {
        let devices: Vec<String> = r.try_get("devices")?;
        let station_id: String = r.try_get("station_id")?;
        let mut row = BoardRow {
            last_refusal: LastRefusal::read(&station_id, r.try_get("last_refusal")?),
            station_id,
            online: r.try_get("online")?,
            last_seen: r.try_get("last_seen")?,
            packer_id: r.try_get("packer_id")?,
            packer_name: r.try_get("packer_name")?,
            held_order: r.try_get("held_order")?,
            held_since: r.try_get("held_since")?,
            orders_today: r.try_get("orders_today")?,
            units_today: r.try_get("units_today")?,
            orders_this_hour: r.try_get("orders_this_hour")?,
            open_alarms: r.try_get("open_alarms")?,
            last_alarm: r.try_get("last_alarm")?,
            devices: devices
                .iter()
                .map(|d| match d.split_once('=') {
                    Some((a, b)) => (a.to_string(), b.to_string()),
                    None => (d.clone(), String::new()),
                })
                .collect(),
            backlog: r.try_get("backlog")?,
            waiting: match (
                r.try_get::<_, Option<String>>("waiting_cause")?,
                r.try_get::<_, Option<DateTime<Utc>>>("waiting_since")?,
            ) {
                (Some(cause), Some(since)) => Some(Waiting {
                    cause,
                    order_no: r.try_get("waiting_order")?,
                    since,
                }),
                _ => None,
            },
            trouble: 0,
        };
        row.score();
        Ok(row)
    }
}

impl FromRow<Row> for ReviewItem {
    fn from_row(r: &Row) -> std::result::Result<Self, RowError> {
        Ok(ReviewItem {
            id: r.try_get("id")?,
            kind: r.try_get("kind")?,
            at: r.try_get("at")?,
            station_id: r.try_get("station_id")?,
            order_no: r.try_get("order_no")?,
            actor: r.try_get("actor")?,
            actor_name: r.try_get("actor_name")?,
            facts: r.try_get("facts")?,
            detail: r
                .try_get::<_, Option<String>>("detail")?
                .unwrap_or_default(),
            reviewed_by: r.try_get("reviewed_by")?,
            reviewed_by_name: r.try_get("reviewed_by_name")?,
            reviewed_at: r.try_get("reviewed_at")?,
            note: r.try_get("note")?,
        })
    }
}

/// Columns `kind, key, label, station_id, state`; a kind this enum lacks is a data error.
impl FromRow<Row> for SearchHit {
    fn from_row(r: &Row) -> std::result::Result<Self, RowError> {
        let kind: &str = r.try_get("kind")?;
        Ok(SearchHit {
            kind: HitKind::parse(kind)
                .ok_or_else(|| RowError::Data(format!("a hit of the unknown kind {kind:?}")))?,
            key: r.try_get("key")?,
            label: r.try_get("label")?,
            station_id: r.try_get("station_id")?,
            state: r.try_get("state")?,
        })
    }
}

/// Columns `key, name, orders, units, wrong_items_caught, mismatches, overrides, reprints,
/// errors_after_shipping, orders_with_caught_error, orders_with_packing_error`.
impl FromRow<Row> for ReportRow {
    fn from_row(r: &Row) -> std::result::Result<Self, RowError> {
        let orders: i64 = r.try_get("orders")?;
        let caught: i64 = r.try_get("orders_with_caught_error")?;
        let packing: i64 = r.try_get("orders_with_packing_error")?;
        Ok(ReportRow {
            key: r.try_get("key")?,
            name: r.try_get("name")?,
            orders,
            units: r.try_get("units")?,
            wrong_items_caught: r.try_get("wrong_items_caught")?,
            mismatches: r.try_get("mismatches")?,
            overrides: r.try_get("overrides")?,
            reprints: r.try_get("reprints")?,
            errors_after_shipping: r.try_get("errors_after_shipping")?,
            orders_with_caught_error: caught,
            orders_with_packing_error: packing,
            caught_error_rate: per_order_rate(caught, orders),
            packing_error_rate: per_order_rate(packing, orders),
        })
    }
}

impl FromRow<Row> for HourlyRow {
    fn from_row(r: &Row) -> std::result::Result<Self, RowError> {
        Ok(HourlyRow {
            station_id: r.try_get("station_id")?,
            hour: r.try_get("hour")?,
            orders: r.try_get("orders")?,
        })
    }
}

/// Fewer characters than this find nothing: a search that would read every order.
pub const SEARCH_MIN_CHARS: usize = 2;
/// Orders are matched anywhere in their number, waybill or recipient from this many
/// characters on (the trigram index needs three); shorter text matches their start only.
pub const ANYWHERE_MIN_CHARS: usize = 3;

/// Escapes `%`, `_` and `\` so that typed text is matched as text by LIKE.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Central {
    /// Every bench, worst trouble first (waiting for a supervisor, then offline, …), then by
    /// station. `since` is the start of "today".
    pub async fn board(
        &self,
        online_within: Duration,
        since: DateTime<Utc>,
    ) -> Result<Vec<BoardRow>> {
        let what = "reading the bench board";
        let secs = online_within.as_secs_f64();
        let rows = with_client!(self, what, |c| async {
            c.query(
                "WITH packed AS (
                     SELECT station_id, sum(orders)::bigint AS orders, sum(units)::bigint AS units,
                            (sum(orders) FILTER (WHERE hour = date_trunc('hour', now())))::bigint
                                AS last_hour
                       FROM bench_hours WHERE hour >= date_trunc('hour', $3::timestamptz)
                      GROUP BY station_id)
                 SELECT s.station_id,
                        coalesce(h.last_seen > now() - make_interval(secs => $1), false) AS online,
                        h.last_seen, w.who AS packer_id, emp.name AS packer_name,
                        c.order_no AS held_order, c.since AS held_since,
                        coalesce(p.orders, 0) AS orders_today, coalesce(p.units, 0) AS units_today,
                        coalesce(p.last_hour, 0) AS orders_this_hour,
                        h.last_refusal,
                        (SELECT count(*) FROM alarms a WHERE a.station_id = s.station_id AND NOT a.acknowledged)
                            AS open_alarms,
                        (SELECT a.kind || ': ' || a.message FROM alarms a WHERE a.station_id = s.station_id
                          ORDER BY a.last_at DESC LIMIT 1) AS last_alarm,
                        coalesce((SELECT array_agg(d.device || '=' || d.state ORDER BY d.device)
                                    FROM bench_devices d WHERE d.station_id = s.station_id), '{}') AS devices,
                        h.backlog, h.waiting_cause, h.waiting_order, h.waiting_since
                   FROM (SELECT station_id FROM bench_heads UNION SELECT station_id FROM bench_roles) s
                   LEFT JOIN bench_heads h USING (station_id)
                   -- The newer of the sign-in events and the heartbeat says who is on.
                   LEFT JOIN LATERAL (SELECT CASE WHEN h.signed_in_at IS NULL
                                                    OR h.reported_at > h.signed_in_at
                                                  THEN h.packer_id ELSE h.signed_in END AS who) w ON true
                   LEFT JOIN employees emp ON emp.id = w.who
                   LEFT JOIN packed p USING (station_id)
                   LEFT JOIN LATERAL (SELECT cl.order_no, cl.since FROM claims cl
                                       WHERE cl.station_id = s.station_id AND NOT cl.released
                                       ORDER BY cl.since DESC LIMIT 1) c ON true
                  WHERE s.station_id <> $2",
                &[&secs, &CENTRAL_STATION, &since],
            )
            .await
            .map_err(|e| self.query_err(what, e))
        })?;
        let mut out: Vec<BoardRow> = self.decode_all(&rows)?;
        out.sort_by(|a, b| {
            b.trouble
                .cmp(&a.trouble)
                .then_with(|| a.station_id.cmp(&b.station_id))
        });
        Ok(out)
    }

    /// The review queue since `since`, newest first: weight mismatches, overrides, holds,
    /// devices lost for more than `device_lost_after`, badges locked at a bench, and alarms
    /// (claim conflicts, chains, central lockouts, unbacked packs, packaging changed after a
    /// failed weighing).
    /// Reviewed items only when `include_reviewed`.
    pub async fn review_queue(
        &self,
        since: DateTime<Utc>,
        device_lost_after: Duration,
        include_reviewed: bool,
        limit: i64,
    ) -> Result<Vec<ReviewItem>> {
        let what = "reading the review queue";
        let lost_secs = device_lost_after.as_secs_f64();
        let rows = with_client!(self, what, |c| async {
            c.query(
                "WITH ev AS (
                     SELECT e.station_id, e.seq, e.at_ts, e.type, e.actor, e.order_no, e.data::jsonb AS d
                       FROM events e
                      WHERE e.at_ts >= $1 AND e.station_id <> $2
                        AND e.type IN ('override', 'order_held', 'device', 'badge_locked')),
                 dev AS (
                     SELECT ev.*,
                            d->>'state' NOT IN ('connected', 'simulated') AS down,
                            lag(d->>'state') OVER w AS prev_state,
                            min(at_ts) FILTER (WHERE d->>'state' IN ('connected', 'simulated'))
                                OVER (w ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS back_at
                       FROM ev WHERE type = 'device'
                     WINDOW w AS (PARTITION BY station_id, d->>'device' ORDER BY seq)),
                 items AS (
                     SELECT e.station_id || ':' || e.seq AS id, 'weight_mismatch' AS kind,
                            e.at_ts AS at, e.station_id, e.order_no, e.actor,
                            format('measured %s g, expected %s g ± %s g', e.data::jsonb->>'measured_g',
                                   e.data::jsonb->>'expected_g', e.data::jsonb->>'tolerance_g') AS detail,
                            e.data::jsonb AS facts
                       FROM events e
                      -- The predicate of the index events_mismatch (migration 4), word for word.
                      WHERE e.type = 'weight_checked' AND (e.data::jsonb->>'ok') = 'false'
                        AND e.at_ts >= $1 AND e.station_id <> $2
                     UNION ALL
                     SELECT station_id || ':' || seq, 'override', at_ts, station_id, order_no, actor,
                            format('%s by %s: measured %s g, expected %s g', d->>'reason',
                                   d->>'supervisor_id', d->>'measured_g', d->>'expected_g'),
                            d || jsonb_build_object('supervisor_name',
                                   (SELECT name FROM employees WHERE id = d->>'supervisor_id'))
                       FROM ev WHERE type = 'override'
                     UNION ALL
                     SELECT station_id || ':' || seq, 'hold', at_ts, station_id, order_no, actor,
                            format('%s: %s of %s units scanned', d->>'reason', d->>'scanned_units',
                                   d->>'ordered_units'), d
                       FROM ev WHERE type = 'order_held'
                     UNION ALL
                     SELECT station_id || ':' || seq, 'device_lost', at_ts, station_id, NULL, actor,
                            format('%s %s for %s min: %s', d->>'device', d->>'state',
                                   round(extract(epoch FROM coalesce(back_at, now()) - at_ts) / 60),
                                   d->>'detail'),
                            d || jsonb_build_object('minutes',
                                   round(extract(epoch FROM coalesce(back_at, now()) - at_ts) / 60))
                       FROM dev
                      WHERE down AND (prev_state IS NULL OR prev_state IN ('connected', 'simulated'))
                        AND coalesce(back_at, now()) - at_ts > make_interval(secs => $3)
                     UNION ALL
                     -- A badge locked at a bench offline (the centre's own lockouts are alarms).
                     SELECT station_id || ':' || seq, 'badge_locked', at_ts, station_id, order_no, actor,
                            format('%s locked until %s after wrong PINs', d->>'employee_id', d->>'until'),
                            d || jsonb_build_object('employee_name',
                                   (SELECT name FROM employees WHERE id = d->>'employee_id'))
                       FROM ev WHERE type = 'badge_locked'
                     UNION ALL
                     SELECT 'alarm:' || a.id, a.kind, a.last_at, a.station_id, a.order_no, NULL,
                            CASE WHEN a.count > 1 THEN format('%s (%s times)', a.message, a.count)
                                 ELSE a.message END,
                            coalesce(a.detail, '{}'::jsonb) || jsonb_build_object('count', a.count,
                                   'employee_name', (SELECT name FROM employees
                                                      WHERE id = a.detail->>'employee_id'))
                       FROM alarms a WHERE a.last_at >= $1),
                 done AS (
                     SELECT DISTINCT ON (r.data::jsonb->>'item') r.data::jsonb->>'item' AS item,
                            r.actor, r.at_ts, r.data::jsonb->>'note' AS note
                       FROM events r WHERE r.station_id = $2 AND r.type = 'reviewed'
                      ORDER BY r.data::jsonb->>'item', r.seq)
                 SELECT i.id, i.kind, i.at, i.station_id, i.order_no, i.actor, i.detail, i.facts,
                        (SELECT name FROM employees WHERE id = i.actor) AS actor_name,
                        done.actor AS reviewed_by, done.at_ts AS reviewed_at, done.note,
                        (SELECT name FROM employees WHERE id = done.actor) AS reviewed_by_name
                   FROM items i LEFT JOIN done ON done.item = i.id
                  WHERE $4 OR done.item IS NULL
                  ORDER BY i.at DESC, i.id
                  LIMIT $5",
                &[&since, &CENTRAL_STATION, &lost_secs, &include_reviewed, &limit],
            )
            .await
            .map_err(|e| self.query_err(what, e))
        })?;
        self.decode_all(&rows)
    }

    /// Marks a queue item reviewed: a `reviewed` event on the centre's chain with who and
    /// the note. `by` must be a supervisor; an item is reviewed once. Returns the event's seq.
    pub async fn review(
        &self,
        item: &str,
        by: &str,
        proof: Option<&crate::domain::pin::PinHash>,
        note: &str,
    ) -> Result<i64> {
        let what = "recording a review";
        let proof = proof.map(|p| p.as_str());
        let row = with_client!(self, what, |c| async {
            c.query_one(
                "SELECT outcome, seq FROM pb_review($1, $2, $3, $4)",
                &[&item, &by, &proof, &note],
            )
            .await
            .map_err(|e| self.query_err(what, e))
        })?;
        let outcome: &str = row
            .try_get("outcome")
            .map_err(|e| self.query_err(what, e))?;
        if let Some(e) = self.pin_refusal(by, outcome) {
            return Err(e);
        }
        row.try_get("seq").map_err(|e| self.query_err(what, e))
    }

    /// Orders (by a part of the order number, waybill or recipient), SKUs (code or name)
    /// and employees (id or name) matching `text`, at most `limit` of each kind; prefix
    /// matches first. Text shorter than [`SEARCH_MIN_CHARS`] finds nothing.
    pub async fn search(&self, text: &str, limit: i64) -> Result<Vec<SearchHit>> {
        let text = text.trim();
        if text.chars().count() < SEARCH_MIN_CHARS {
            return Ok(Vec::new());
        }
        let what = "searching";
        let inner = format!("%{}%", like_escape(text));
        let prefix = format!("{}%", like_escape(text));
        // Orders by the start of their number or waybill first, through the C-collation
        // indexes (migration 4): each is an ordered index scan that stops at `limit`, however
        // many orders share the prefix. Only when no order starts with the text are orders
        // matched anywhere (trigram index), as typing a waybill's last digits does.
        const ORDER: &str = "SELECT 'order' AS kind, o.order_no AS key,
                    o.waybill_no || ' · ' || o.recipient AS label, cl.station_id,
                    CASE WHEN o.cancelled THEN 'cancelled' WHEN cl.packed THEN 'packed'
                         WHEN cl.released IS FALSE THEN 'held' ELSE 'open' END AS state
               FROM orders o LEFT JOIN claims cl USING (order_no)";
        let by_prefix = format!(
            "SELECT * FROM (({ORDER} WHERE o.order_no COLLATE \"C\" LIKE $1
                               ORDER BY o.order_no COLLATE \"C\" LIMIT $2)
                            UNION
                            ({ORDER} WHERE o.waybill_no COLLATE \"C\" LIKE $1
                               ORDER BY o.waybill_no COLLATE \"C\" LIMIT $2)) p
              ORDER BY p.key COLLATE \"C\" LIMIT $2"
        );
        let anywhere = format!(
            "{ORDER} WHERE pb_order_text(o.order_no, o.waybill_no, o.recipient) ILIKE $1 LIMIT $2"
        );
        let rows = with_client!(self, what, |c| async {
            let mut rows = c
                .query(&by_prefix, &[&prefix, &limit])
                .await
                .map_err(|e| self.query_err(what, e))?;
            // Two characters have no trigram: matched anywhere they would read every order.
            if rows.is_empty() && text.chars().count() >= ANYWHERE_MIN_CHARS {
                rows = c
                    .query(&anywhere, &[&inner, &limit])
                    .await
                    .map_err(|e| self.query_err(what, e))?;
            }
            rows.extend(
                c.query(
                    "(SELECT 'sku' AS kind, s.sku AS key, s.name AS label, NULL AS station_id,
                             NULL AS state FROM skus s
                       WHERE pb_sku_text(s.sku, s.name) ILIKE $1
                       ORDER BY (s.sku ILIKE $2) DESC, s.sku LIMIT $3)
                     UNION ALL
                     (SELECT 'employee', e.id, e.name, NULL, NULL FROM employees e
                       WHERE e.id ILIKE $1 OR e.name ILIKE $1
                       ORDER BY (e.id ILIKE $2) DESC, e.id LIMIT $3)",
                    &[&inner, &prefix, &limit],
                )
                .await
                .map_err(|e| self.query_err(what, e))?,
            );
            Ok(rows)
        })?;
        let mut hits = Vec::with_capacity(rows.len());
        for r in &rows {
            match SearchHit::from_row(r) {
                Ok(hit) => hits.push(hit),
                // Only if the queries above name a kind this enum lacks.
                Err(RowError::Data(m)) => tracing::error!("search: a hit left out: {m}"),
                Err(e) => return Err(self.data_err(e.to_string())),
            }
        }
        Ok(hits)
    }

    /// Per packer and per bench from `from` up to (not including) `to`, in whole clock hours
    /// (the counts are kept per hour: an hour counts when it starts in the range).
    pub async fn report(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Report> {
        if to <= from {
            return Err(self.data_err(format!(
                "a report's end ({to}) must come after its start ({from})"
            )));
        }
        let what = "making a report";
        let rows = with_client!(self, what, |c| async {
            c.query(
                "SELECT CASE WHEN grouping(station_id) = 0 THEN 'bench' ELSE 'packer' END AS by,
                        coalesce(station_id, who, '') AS key,
                        sum(orders)::bigint AS orders, sum(units)::bigint AS units,
                        sum(wrong)::bigint AS wrong_items_caught,
                        sum(mismatches)::bigint AS mismatches, sum(overrides)::bigint AS overrides,
                        sum(reprints)::bigint AS reprints,
                        sum(after_shipping)::bigint AS errors_after_shipping,
                        sum(caught_orders)::bigint AS orders_with_caught_error,
                        sum(packing_error_orders)::bigint AS orders_with_packing_error,
                        (SELECT name FROM employees WHERE id = who) AS name
                   FROM work_hours
                  WHERE hour >= date_trunc('hour', $1::timestamptz) AND hour < $2
                  GROUP BY GROUPING SETS ((station_id), (who))
                  ORDER BY 1, 2",
                &[&from, &to],
            )
            .await
            .map_err(|e| self.query_err(what, e))
        })?;
        let mut report = Report {
            from: from.to_rfc3339(),
            to: to.to_rfc3339(),
            ..Default::default()
        };
        for r in &rows {
            let by: String = r.try_get("by").map_err(|e| self.query_err(what, e))?;
            let mut row: ReportRow = self.decode(r)?;
            if by != "packer" {
                row.name = None;
            }
            if by == "bench" {
                report.per_bench.push(row);
            } else if !row.key.is_empty() {
                report.per_packer.push(row);
            }
        }
        Ok(report)
    }

    /// Orders packed per hour per bench from `since` (the board's chart of today).
    pub async fn hourly(&self, since: DateTime<Utc>) -> Result<Vec<HourlyRow>> {
        let what = "counting orders per hour";
        let rows = with_client!(self, what, |c| async {
            c.query(
                "SELECT station_id, hour, orders FROM bench_hours
                  WHERE hour >= date_trunc('hour', $1::timestamptz) ORDER BY 1, 2",
                &[&since],
            )
            .await
            .map_err(|e| self.query_err(what, e))
        })?;
        self.decode_all(&rows)
    }
}

#[cfg(test)]
mod tests {
    use super::{like_escape, HitKind, LastRefusal};
    use serde_json::json;

    #[test]
    fn a_last_refusal_reads_the_boards_json_and_writes_it_back_alike() {
        let v = json!({"seq": 12, "at": "2026-11-22T09:58:01+08:00", "reason": "not_in_order",
                       "code": "6901234567892", "detail": null});
        let r = LastRefusal::read("B1", Some(v.clone())).unwrap();
        assert_eq!(
            (r.seq, r.reason.as_deref(), r.detail.as_deref()),
            (12, Some("not_in_order"), None)
        );
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            serde_json::to_string(&v).unwrap()
        );
        assert_eq!(LastRefusal::read("B1", None), None);
        assert_eq!(LastRefusal::read("B1", Some(json!({"seq": "x"}))), None);
    }

    #[test]
    fn hit_kinds_read_back_and_keep_their_json_names() {
        for k in HitKind::ALL {
            assert_eq!(HitKind::parse(k.as_str()), Some(k));
            assert_eq!(serde_json::to_value(k).unwrap(), json!(k.as_str()));
        }
        assert_eq!(HitKind::parse("person"), None);
    }

    #[test]
    fn typed_wildcards_are_matched_as_text() {
        assert_eq!(like_escape("SO_1%"), "SO\\_1\\%");
        assert_eq!(like_escape("a\\b"), "a\\\\b");
        assert_eq!(like_escape("张伟"), "张伟");
    }
}
