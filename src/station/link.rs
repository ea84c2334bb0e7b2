//! A bench's link to the warehouse's central database: the claim at order open, the outbox
//! shipper (the bench's own SQLite log, shipped in order, exactly once), the follower that
//! keeps the local copy of master data current, and the heartbeat. Everything but the claim
//! runs on the station's device runtime, so a scan never waits on the network; the claim is
//! one round trip bounded by `claim_timeout_ms`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Local};
use tokio::sync::Notify;

use super::runtime::{EventSink, Msg, Outcome, ToLoop};
use crate::central::{self, BenchReport, Central, ListenerEvent, ShipEvent};
use crate::config::{CentralConfig, Offline};
use crate::domain::event::{DeviceStatus, EventType, OrderClaimed, PackerSignedIn, StoredEvent};
use crate::store::{
    self, Changes, ClaimOutcome, Claims, EventFilter, EventLog, Holder, OrderRow, Put,
    ReferenceData, Store,
};
use packbench_drivers::serial::{Backoff, BackoffPolicy};

/// Events shipped in one transaction at most.
const BATCH: usize = 500;

/// What the bench last heard from the centre, shared by its tasks and its claims.
#[derive(Default)]
struct Heard {
    /// Orders another bench held when the centre last said so (order → holder).
    held_elsewhere: HashMap<String, Holder>,
    /// What the heartbeat reports.
    report: BenchReport,
}

/// The running link: its claims for the bench and its sink for the station loop.
pub struct Link {
    pub claims: Box<dyn Claims>,
    /// Wakes the shipper after every append and keeps the heartbeat's report current.
    pub sink: EventSink,
}

/// Starts the link's tasks on `rt` for a bench whose log is the SQLite database at `db`
/// (the tasks open their own connections to it). Nothing here touches the network before
/// returning: a bench starts while the centre is down, on its local copy.
pub fn start(
    rt: &tokio::runtime::Runtime,
    cfg: &CentralConfig,
    password_file: Option<PathBuf>,
    station_id: &str,
    db: PathBuf,
    tx: impl Into<ToLoop>,
) -> central::Result<Link> {
    let outbox = db.clone();
    start_with(
        rt,
        cfg,
        password_file,
        station_id,
        &outbox,
        move || store::open_background(&db),
        tx,
    )
}

/// [`start`] over any store: `open` gives each of the link's tasks its own handle to the
/// bench's log, `outbox` says where that log is in messages.
pub fn start_with<S>(
    rt: &tokio::runtime::Runtime,
    cfg: &CentralConfig,
    password_file: Option<PathBuf>,
    station_id: &str,
    outbox: &Path,
    open: impl Fn() -> store::Result<S> + Clone + Send + 'static,
    tx: impl Into<ToLoop>,
) -> central::Result<Link>
where
    S: Store + Send + 'static,
{
    let tx: ToLoop = tx.into();
    let central = Central::connect(&cfg.url, password_file.as_deref())?;
    tracing::info!(db = %central.database(), "central database configured");
    let heard = Arc::new(Mutex::new(Heard::default()));
    let wake = Arc::new(Notify::new());
    let station = station_id.to_string();
    rt.spawn(ship_loop(
        central.clone(),
        station.clone(),
        outbox.display().to_string(),
        open.clone(),
        heard.clone(),
        wake.clone(),
        tx.clone(),
    ));
    rt.spawn(follow_loop(central.clone(), open));
    rt.spawn(heartbeat_loop(
        central.clone(),
        station.clone(),
        heard.clone(),
    ));
    let claims = CentralClaims {
        rt: rt.handle().clone(),
        central,
        station,
        timeout: Duration::from_millis(cfg.claim_timeout_ms),
        offline: cfg.offline,
        heard: heard.clone(),
    };
    let sink: EventSink = Box::new(move |outcome| {
        if let Outcome::Stored(events) = outcome {
            observe(&mut heard.lock().expect("heard"), events);
            wake.notify_one();
        }
    });
    Ok(Link {
        claims: Box::new(claims),
        sink,
    })
}

/// Who is signed in and which order is open, from the bench's own events.
fn observe(h: &mut Heard, events: &[StoredEvent]) {
    for e in events {
        match e.kind {
            EventType::PackerSignedIn => {
                h.report.packer_id = e.payload_as::<PackerSignedIn>().map(|p| p.packer_id)
            }
            EventType::PackerSignedOut => {
                h.report.packer_id = None;
                h.report.held_order = None;
            }
            EventType::OrderLoaded => h.report.held_order = e.order_no.clone(),
            EventType::OrderPacked | EventType::OrderHeld | EventType::OrderReleased
                if h.report.held_order == e.order_no =>
            {
                h.report.held_order = None
            }
            _ => {}
        }
    }
}

struct CentralClaims {
    rt: tokio::runtime::Handle,
    central: Central,
    station: String,
    timeout: Duration,
    offline: Offline,
    heard: Arc<Mutex<Heard>>,
}

fn since(t: Option<DateTime<chrono::Utc>>) -> String {
    t.map(|t| t.with_timezone(&Local).fixed_offset().to_rfc3339())
        .unwrap_or_default()
}

impl Claims for CentralClaims {
    fn packed_history(&mut self, order_no: &str) -> Vec<StoredEvent> {
        self.packed_history_of(order_no)
    }

    fn check_pin(
        &mut self,
        employee_id: &str,
        pin: &crate::domain::pin::Pin,
    ) -> Option<central::PinCheck> {
        let ask = self.central.check_pin(employee_id, pin);
        // The network part is bounded like a claim; hashing the PIN (64 MiB, 3 passes) is
        // this PC's own work on top.
        let within = self.timeout + Duration::from_secs(2);
        match self
            .rt
            .block_on(async { tokio::time::timeout(within, ask).await })
        {
            Ok(Ok(answer)) => Some(answer),
            Ok(Err(e)) => {
                tracing::warn!(employee = %employee_id, "PIN not checked at the centre, the bench's copy decides: {e}");
                None
            }
            Err(_) => {
                tracing::warn!(
                    employee = %employee_id,
                    "PIN not checked at the centre (no answer within {} ms), the bench's copy decides",
                    within.as_millis()
                );
                None
            }
        }
    }

    fn claim(&mut self, order_no: &str, packer_id: &str) -> ClaimOutcome {
        let central = self.central.clone();
        let (station, order, packer) = (
            self.station.clone(),
            order_no.to_string(),
            packer_id.to_string(),
        );
        let ask = async move {
            let packer = Some(&packer).filter(|p| !p.is_empty()).map(|p| p.as_str());
            // One round trip: the claim and, under it, the other benches' events.
            let (outcome, history) = central.claim_with_history(&station, &order, packer).await?;
            let history: Vec<StoredEvent> =
                history.into_iter().filter_map(|e| e.stored()).collect();
            Ok::<_, central::CentralError>((outcome, history))
        };
        let answer = self
            .rt
            .block_on(async { tokio::time::timeout(self.timeout, ask).await });
        let mut heard = self.heard.lock().expect("heard");
        match answer {
            Ok(Ok((central::ClaimOutcome::Granted { claim_epoch, .. }, history))) => {
                heard.held_elsewhere.remove(order_no);
                ClaimOutcome::Granted {
                    epoch: Some(claim_epoch),
                    history,
                }
            }
            Ok(Ok((
                central::ClaimOutcome::HeldElsewhere {
                    held_by,
                    held_by_packer,
                    since: t,
                },
                _,
            ))) => {
                let h = Holder {
                    station_id: held_by,
                    packer_id: held_by_packer,
                    since: since(Some(t)),
                };
                heard.held_elsewhere.insert(order_no.to_string(), h.clone());
                ClaimOutcome::Held(h)
            }
            Ok(Ok((central::ClaimOutcome::Packed { packed_by, at }, _))) => {
                ClaimOutcome::Packed(Holder {
                    station_id: packed_by.unwrap_or_default(),
                    packer_id: None,
                    since: since(at),
                })
            }
            Ok(Err(e)) => self.offline_rule(&mut heard, order_no, e.to_string()),
            Err(_) => self.offline_rule(
                &mut heard,
                order_no,
                format!("no answer within {} ms", self.timeout.as_millis()),
            ),
        }
    }
}

impl CentralClaims {
    fn packed_history_of(&self, order_no: &str) -> Vec<StoredEvent> {
        let ask = self.central.packed_history(&self.station, order_no);
        match self
            .rt
            .block_on(async { tokio::time::timeout(self.timeout, ask).await })
        {
            Ok(Ok(events)) => events.into_iter().filter_map(|e| e.stored()).collect(),
            Ok(Err(e)) => {
                tracing::warn!(order = order_no, "packed order's history not read: {e}");
                Vec::new()
            }
            Err(_) => {
                tracing::warn!(
                    order = order_no,
                    "packed order's history: no answer within {} ms",
                    self.timeout.as_millis()
                );
                Vec::new()
            }
        }
    }

    /// No answer: `finish` refuses; `open` opens an order no other bench held when the centre
    /// last said, unclaimed (the centre raises a conflict if another bench packs it too).
    fn offline_rule(&self, heard: &mut Heard, order_no: &str, why: String) -> ClaimOutcome {
        tracing::warn!(order = order_no, "claim not answered: {why}");
        match self.offline {
            Offline::Finish => ClaimOutcome::Unreachable(why),
            Offline::Open => match heard.held_elsewhere.get(order_no) {
                Some(h) => ClaimOutcome::Held(h.clone()),
                None => ClaimOutcome::Granted {
                    epoch: None,
                    history: Vec::new(),
                },
            },
        }
    }
}

/// Jittered exponential backoff, 100 ms up to 5 s (the drivers' own, as for serial ports),
/// so 200 benches coming back after an outage do not knock on the centre in step.
fn backoff() -> Backoff {
    Backoff::with_random_seed(BackoffPolicy {
        initial: Duration::from_millis(100),
        max: Duration::from_secs(5),
        jitter: 0.5,
    })
}

/// The link's state as `device` events: said when it changes, with the backlog.
struct LinkState {
    said: Option<DeviceStatus>,
    tx: ToLoop,
}

impl LinkState {
    fn say(&mut self, state: DeviceStatus, detail: String) {
        if self.said != Some(state) {
            self.said = Some(state);
            tracing::info!(state = state.as_str(), "central link: {detail}");
            let sent = self.tx.send(Msg::Device {
                device: "central".into(),
                state,
                detail,
            });
            if sent.is_err() {
                // Only when the station loop has ended (the bench is stopping).
                tracing::debug!("central link state not shown: the station loop is gone");
            }
        }
    }

    /// A failure the link cannot work around by retrying at once: logged, and shown on the
    /// bench's device list as the central link's error.
    fn fail(&mut self, detail: String) {
        if self.said != Some(DeviceStatus::Error) {
            tracing::error!("central link: {detail}");
        }
        self.say(DeviceStatus::Error, detail);
    }
}

/// Until the bench appends again, or half a second at most (then the shipper looks anyway).
async fn next_append(wake: &Notify) {
    tokio::select! {
        _ = wake.notified() => {}
        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
    }
}

/// Where to ship from at start, given the centre's head for this bench (`seq`, `hash`): that
/// head when this bench's log holds the same event there (so a restart sends only what the
/// centre lacks); 0 when the centre has more than this log, or another event at its head (a
/// log replaced or restored): the centre then compares everything again and raises the fork
/// it finds.
fn start_from<S: EventLog>(store: &S, station: &str, seq: i64, hash: &str) -> i64 {
    if seq == 0 {
        return 0;
    }
    let mut local = None;
    let read = store.scan_chain(seq - 1, &mut |r| {
        local = Some(r);
        false
    });
    if let Err(e) = read {
        tracing::warn!(
            "central link: the outbox's event {seq} not read, shipping from the first event: {e}"
        );
        return 0;
    }
    match local {
        Some(r) if r.seq == seq && r.hash == hash => seq,
        _ => {
            tracing::warn!(
                central_head = seq,
                "central link: this log does not hold the centre's head for {station}; shipping from its first event"
            );
            0
        }
    }
}

/// The claim epoch each order's events are made under: the last `order_claimed` of it.
fn epochs_of(store: &impl EventLog) -> store::Result<HashMap<String, i64>> {
    let mut m = HashMap::new();
    store.scan_events(
        &EventFilter {
            types: vec![EventType::OrderClaimed.as_str()],
            ..Default::default()
        },
        &mut |e| {
            let epoch = e.payload_as::<OrderClaimed>().and_then(|c| c.claim_epoch);
            if let (Some(o), Some(ep)) = (&e.order_no, epoch) {
                m.insert(o.clone(), ep);
            }
            true
        },
    )?;
    Ok(m)
}

/// Ships the bench's log in order. The centre keeps each bench's head and skips what it
/// has, so after any failure the shipper simply sends from the last head it was told.
async fn ship_loop<S: EventLog>(
    central: Central,
    station: String,
    outbox: String,
    open: impl Fn() -> store::Result<S>,
    heard: Arc<Mutex<Heard>>,
    wake: Arc<Notify>,
    tx: ToLoop,
) {
    let store = match open() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("central link: cannot read the outbox: {e:#}");
            return;
        }
    };
    let mut link = LinkState { said: None, tx };
    let mut epochs = match epochs_of(&store) {
        Ok(m) => m,
        Err(e) => {
            // Events then go without their claim epoch and the centre flags them: say so.
            tracing::error!("central link: the outbox's claims not read, events ship without their claim epochs: {e}");
            HashMap::new()
        }
    };
    let mut backoff = backoff();
    // Where the centre's copy of this bench's log ends, as far as we know: asked of the
    // centre before the first batch, then told by every batch.
    let mut central_head: Option<i64> = None;
    loop {
        let local_head = match store.head() {
            Ok(h) => h.map(|h| h.0).unwrap_or(0),
            Err(e) => {
                link.fail(format!("the outbox {outbox} cannot be read: {e}"));
                tokio::time::sleep(backoff.next_delay()).await;
                continue;
            }
        };
        let from = match central_head {
            Some(h) => h,
            None => match central.bench_head(&station).await {
                Ok((seq, hash)) => {
                    let h = start_from(&store, &station, seq, &hash);
                    tracing::info!(
                        central_head = h,
                        local_head,
                        "central link: shipping from the centre's head"
                    );
                    central_head = Some(h);
                    h
                }
                Err(e) if e.is_unreachable() => {
                    link.say(
                        DeviceStatus::Disconnected,
                        format!("backlog {local_head}; {e}"),
                    );
                    tokio::time::sleep(backoff.next_delay()).await;
                    continue;
                }
                Err(e) => {
                    // A centre not yet given `pb_bench_head` (init not run since): re-sends
                    // of known events are harmless, so the first event is a safe start.
                    tracing::warn!("central link: the centre's head not read, shipping from the first event: {e}");
                    central_head = Some(0);
                    0
                }
            },
        };
        let backlog = (local_head - from).max(0);
        heard.lock().expect("heard").report.backlog = backlog;
        if backlog == 0 && link.said.is_some() {
            // Nothing to send: wait for the next append, or look again in a while.
            next_append(&wake).await;
            continue;
        }
        let mut rows = Vec::new();
        if let Err(e) = store.scan_chain(from, &mut |r| {
            rows.push(r);
            rows.len() < BATCH
        }) {
            link.fail(format!(
                "backlog {backlog}; the outbox {outbox} cannot be read: {e}"
            ));
            tokio::time::sleep(backoff.next_delay()).await;
            continue;
        }
        if let Some(other) = rows.iter().find(|r| r.station_id != station) {
            // The centre checks each bench's chain, which runs through every event of this
            // log: one of another station can never be shipped, and skipping it breaks the
            // chain (a `gap` alarm for ever). Say so plainly and ship nothing.
            let detail = format!(
                "backlog {backlog}; this bench's log {} holds events of station {} (seq {}): \
                 a bench joins the centre with a log of its own station only; give {station} \
                 a new database file, or set station_id back to {}",
                outbox, other.station_id, other.seq, other.station_id
            );
            link.fail(detail);
            tokio::time::sleep(Duration::from_secs(30)).await;
            continue;
        }
        let batch: Vec<ShipEvent> = rows
            .into_iter()
            .map(|r| {
                let epoch = match (&r.order_no, r.kind.as_str()) {
                    (Some(o), "order_claimed") => {
                        let ep = serde_json::from_str::<OrderClaimed>(&r.data)
                            .ok()
                            .and_then(|c| c.claim_epoch);
                        match ep {
                            Some(ep) => {
                                epochs.insert(o.clone(), ep);
                            }
                            None => {
                                epochs.remove(o);
                            }
                        }
                        ep
                    }
                    (Some(o), _) => epochs.get(o).copied(),
                    _ => None,
                };
                ShipEvent::from_row(r, epoch)
            })
            .collect();
        if batch.is_empty() {
            // An empty log: nothing to ship yet.
            link.say(DeviceStatus::Connected, format!("backlog {backlog}"));
            next_append(&wake).await;
            continue;
        }
        let last = batch.last().map(|e| e.seq).unwrap_or(0);
        match central.ship(&batch).await {
            Ok(out) => {
                backoff.reset();
                let progressed = out.head_seq > from;
                central_head = Some(out.head_seq);
                tracing::debug!(shipped_to = out.head_seq, sent_to = last, "central sync");
                if let Some(r) = out.refused {
                    // A fork or a broken chain: retrying cannot fix it; the centre raised an
                    // alarm for a supervisor. Say it and try again slowly.
                    link.say(
                        DeviceStatus::Error,
                        format!(
                            "backlog {}; the centre refused event {}: {} ({})",
                            (local_head - out.head_seq).max(0),
                            r.seq,
                            r.message,
                            r.kind
                        ),
                    );
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    continue;
                }
                if !out.flagged.is_empty() {
                    tracing::warn!(seqs = ?out.flagged, "the centre flagged events with a claim conflict");
                }
                let left = (local_head - out.head_seq).max(0);
                link.say(DeviceStatus::Connected, format!("backlog {left}"));
                if !progressed && left > 0 {
                    tokio::time::sleep(backoff.next_delay()).await;
                }
            }
            Err(e) => {
                link.say(
                    DeviceStatus::Disconnected,
                    format!("backlog {backlog}; {e}"),
                );
                tokio::time::sleep(backoff.next_delay()).await;
            }
        }
    }
}

/// Keeps the local copy of master data current: catches up at start, then on every
/// notification and periodically (the listener does both).
async fn follow_loop<S: ReferenceData>(central: Central, open: impl Fn() -> store::Result<S>) {
    let mut store = match open() {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("central link: cannot write the local copy: {e:#}");
            return;
        }
    };
    let mut applied = match store.central_change_id() {
        Ok(id) => id,
        Err(e) => {
            // From 0 the centre sends every master row again: slower, never wrong.
            tracing::error!("central link: the local copy's change id not read, catching up from the start: {e}");
            0
        }
    };
    let mut listener = central.listener(applied);
    let mut backoff = backoff();
    while let Some(ev) = listener.recv().await {
        match ev {
            ListenerEvent::Changed { upto } if upto > applied => loop {
                match central.changes_since(applied, 5_000).await {
                    Ok(ch) => {
                        backoff.reset();
                        let n = ch.skus.len()
                            + ch.orders.len()
                            + ch.employees.len()
                            + ch.packaging.len();
                        if let Err(e) = apply(&mut store, &ch) {
                            tracing::error!("central link: local copy not updated: {e}");
                            break;
                        }
                        applied = ch.upto;
                        tracing::debug!(
                            rows = n,
                            upto = applied,
                            "local copy of master data updated"
                        );
                        if !ch.more {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!("central link: master data not read: {e}");
                        tokio::time::sleep(backoff.next_delay()).await;
                        break;
                    }
                }
            },
            ListenerEvent::Disconnected { error } => {
                tracing::warn!("central link: change feed lost: {error}")
            }
            _ => {}
        }
    }
}

/// Writes central rows into the local copy in one transaction, with the change id.
fn apply(store: &mut impl ReferenceData, ch: &central::MasterChanges) -> store::Result<()> {
    let mut puts: Vec<Put> = Vec::new();
    puts.extend(ch.skus.iter().cloned().map(Put::Sku));
    puts.extend(ch.employees.iter().cloned().map(Put::Employee));
    puts.extend(ch.packaging.iter().cloned().map(Put::Packaging));
    puts.extend(ch.orders.iter().cloned().map(|o| {
        Put::Order(OrderRow {
            version: o.version(),
            order: o,
        })
    }));
    let upto = ch.upto;
    store.import_at(Some(upto), &mut |_| {
        Ok(Changes {
            puts: puts.clone(),
            events: Vec::new(),
        })
    })?;
    Ok(())
}

/// Tells the centre every 2 s that the bench is alive, who is signed in, the order it holds
/// and its backlog; and learns which orders other benches hold (for `offline = "open"`).
async fn heartbeat_loop(central: Central, station: String, heard: Arc<Mutex<Heard>>) {
    loop {
        let report = heard.lock().expect("heard").report.clone();
        match central.heartbeat(&station, &report).await {
            Ok(()) => match central.held_orders().await {
                Ok(held) => {
                    let mut h = heard.lock().expect("heard");
                    h.held_elsewhere = held
                        .into_iter()
                        .filter(|o| o.station_id != station)
                        .map(|o| {
                            (
                                o.order_no,
                                Holder {
                                    station_id: o.station_id,
                                    packer_id: o.packer_id,
                                    since: since(o.since),
                                },
                            )
                        })
                        .collect();
                }
                Err(e) => tracing::warn!("central link: held orders not read: {e}"),
            },
            Err(e) => {
                tracing::debug!("central heartbeat failed: {e}");
            }
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}
