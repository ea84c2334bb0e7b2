//! Properties of a floor of two benches sharing one order pool, over random interleavings of
//! packing, approvals, returns and claims. The claims are a model of the centre's rules (an
//! order is held by one bench until that bench packs, holds or lets it go; a packed order is
//! refused everywhere else; a bench that claims an order gets the other benches' events of it),
//! fed with each bench's events in the order they were acknowledged, as the sync feeds the
//! centre. Each bench keeps its own log (the in-memory store).
//!
//! After every step: no order is open at both benches. After every run:
//! - never more units scanned than ordered, and an order packed once on the whole floor;
//! - never more units of a SKU returned, over all returns at any bench, than were packed
//!   (returns one after another: two returns of one order open at two benches at once are not
//!   guarded, and the runs never do that);
//! - every event a bench acknowledged is in its log as acknowledged, the log holds nothing
//!   else, and its chain verifies;
//! - no `override` without the approving supervisor's right PIN entered after their badge.
//!
//! Tallies over all runs check that each of those things did happen.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use common::memory::MemoryStore;
use common::*;
use packbench::domain::event::{ApprovalReason, EventType, StoredEvent};
use packbench::domain::pin::Pin;
use packbench::domain::progress::OrderProgress;
use packbench::domain::returns;
use packbench::domain::session::EngineConfig;
use packbench::station::Bench;
use packbench::store::{ClaimOutcome, Claims, EventFilter, EventLog, Holder, ReferenceData};
use proptest::prelude::*;

const STATIONS: [&str; 2] = ["BENCH-A", "BENCH-B"];
const ORDERS: [&str; 5] = [ORDER1, ORDER2, CASE_ORDER, CANCELLED, NO_PICKER];
/// The supervisors of the fixtures and their PINs.
const SUPERVISORS: [(&str, &str, &str); 2] = [
    ("E005", SUPERVISOR, SUPERVISOR_PIN),
    ("E006", "BADGE-E006", "666666"),
];

/// The centre's claims, as a model: who holds each order, which are packed and where, and
/// every bench's events in the order they arrived.
#[derive(Default)]
struct Floor {
    held: HashMap<String, (String, String)>,
    packed: HashMap<String, (String, String)>,
    log: Vec<StoredEvent>,
}

impl Floor {
    /// A bench's acknowledged events arrive (the sync): claims end as the centre ends them.
    fn arrive(&mut self, events: &[StoredEvent]) {
        for e in events {
            self.log.push(e.clone());
            let order = match e.kind {
                EventType::PackerSignedOut => e
                    .data
                    .get("open_order")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                _ => e.order_no.clone(),
            };
            let Some(order) = order else { continue };
            match e.kind {
                EventType::OrderPacked => {
                    self.held.remove(&order);
                    let packer = e.actor.clone().unwrap_or_default();
                    self.packed.insert(order, (e.station_id.clone(), packer));
                }
                EventType::OrderHeld | EventType::OrderReleased | EventType::PackerSignedOut
                    if self
                        .held
                        .get(&order)
                        .is_some_and(|(s, _)| *s == e.station_id) =>
                {
                    self.held.remove(&order);
                }
                _ => {}
            }
        }
    }

    fn others(&self, station: &str, order_no: &str) -> Vec<StoredEvent> {
        self.log
            .iter()
            .filter(|e| e.station_id != station && e.order_no.as_deref() == Some(order_no))
            .cloned()
            .collect()
    }
}

struct FloorClaims {
    station: String,
    floor: Arc<Mutex<Floor>>,
    epoch: i64,
}

impl Claims for FloorClaims {
    fn claim(&mut self, order_no: &str, packer_id: &str) -> ClaimOutcome {
        let mut f = self.floor.lock().unwrap();
        let holder = |(s, p): &(String, String)| Holder {
            station_id: s.clone(),
            packer_id: Some(p.clone()),
            since: t(0).to_rfc3339(),
        };
        if let Some(p) = f.packed.get(order_no).filter(|(s, _)| *s != self.station) {
            return ClaimOutcome::Packed(holder(p));
        }
        if let Some(h) = f.held.get(order_no).filter(|(s, _)| *s != self.station) {
            return ClaimOutcome::Held(holder(h));
        }
        f.held.insert(
            order_no.to_string(),
            (self.station.clone(), packer_id.to_string()),
        );
        self.epoch += 1;
        ClaimOutcome::Granted {
            epoch: Some(self.epoch),
            history: f.others(&self.station, order_no),
        }
    }

    fn packed_history(&mut self, order_no: &str) -> Vec<StoredEvent> {
        let f = self.floor.lock().unwrap();
        if f.packed.contains_key(order_no) {
            f.others(&self.station, order_no)
        } else {
            Vec::new()
        }
    }
}

#[derive(Debug, Clone)]
enum Act {
    Scan(&'static str),
    /// Scan every unit the open order still needs, but `leave_out` of them.
    Fill(u32),
    /// A stable reading of the open order's expected weight plus the delta.
    WeighOpen(f64),
    /// A supervisor's badge, a PIN (right or wrong), then a reason.
    Approve {
        sup: usize,
        right_pin: bool,
    },
    /// A PIN on its own, right or wrong for whoever the bench is asking.
    Pin(bool),
    Reason,
    /// An order scanned, every unit, its expected weight plus `delta`, the picker's badge:
    /// packed, when the bench may pack it and the weight is right; else perhaps an approval.
    PackWhole {
        order: usize,
        delta: f64,
        approve: Option<(usize, bool)>,
    },
    /// An order scanned and all its units but one: left open, held by this bench.
    OpenPart(usize),
    /// Returns mode, a packed order's parcel, its units but `leave_out`, a reason, close.
    ReturnWhole {
        order: usize,
        leave_out: u32,
    },
}

const CODES: &[&str] = &[
    PACKER,
    PACKER2,
    PICKER_PACKER,
    PICKER,
    SUPERVISOR,
    "BADGE-E006",
    "BADGE-E001",
    ORDER1,
    ORDER1_WAYBILL,
    ORDER2,
    CASE_ORDER,
    CANCELLED,
    NO_PICKER,
    T_BLU_L,
    SOCK_BLK,
    LIP_R02,
    SUN_50,
    LATIAO_CASE,
    MASK,
    "PB-UNDO",
    "PB-HOLD",
    "PB-SIGNOUT",
    "PB-RETURNS",
    "PB-RETURNS-END",
    "PB-RETURN-CLOSE",
    "PB-COND-DAMAGED",
    "PB-COND-WRONG-VARIANT",
    "PB-RET-REASON-MISSING_ITEM",
    "PB-RET-REASON-SIZE",
];

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        8 => proptest::sample::select(CODES).prop_map(Act::Scan),
        3 => (0u32..2).prop_map(Act::Fill),
        3 => prop_oneof![Just(0.0), Just(60.0), Just(-60.0), -30.0..30.0f64].prop_map(Act::WeighOpen),
        2 => (0usize..2, proptest::bool::weighted(0.8)).prop_map(|(sup, right_pin)| Act::Approve { sup, right_pin }),
        1 => any::<bool>().prop_map(Act::Pin),
        1 => Just(Act::Reason),
        3 => (
            0usize..ORDERS.len(),
            prop_oneof![3 => Just(0.0), 1 => Just(80.0)],
            proptest::option::of((0usize..2, proptest::bool::weighted(0.8))),
        )
            .prop_map(|(order, delta, approve)| Act::PackWhole { order, delta, approve }),
        2 => (0usize..ORDERS.len(), 0u32..2).prop_map(|(order, leave_out)| Act::ReturnWhole { order, leave_out }),
        2 => (0usize..ORDERS.len()).prop_map(Act::OpenPart),
    ]
}

/// A bench of the floor, and what the harness saw it do.
struct Station {
    bench: Bench<MemoryStore>,
    /// Every event the bench acknowledged, in order.
    acked: Vec<StoredEvent>,
    /// Log length before the run (the fixtures' import events).
    imported: usize,
    /// Per supervisor: the harness's action number of their last badge scan at this bench,
    /// and of the last right PIN entered for them after it.
    badge_at: HashMap<String, u64>,
    right_pin_at: HashMap<String, u64>,
    /// Overrides acknowledged without the PIN rule met.
    unproven: Vec<String>,
}

struct Run {
    floor: Arc<Mutex<Floor>>,
    stations: Vec<Station>,
    /// The harness's action counter (several per composite step).
    n: u64,
    clock: i64,
}

impl Run {
    fn new() -> Run {
        let floor = Arc::new(Mutex::new(Floor::default()));
        let stations = STATIONS
            .iter()
            .map(|id| {
                let store = MemoryStore::with_fixtures();
                let imported = store.events(&EventFilter::default()).unwrap().len();
                let cfg = EngineConfig {
                    station_id: id.to_string(),
                    ..EngineConfig::default()
                };
                let bench = Bench::open(store, cfg)
                    .unwrap()
                    .with_claims(Box::new(FloorClaims {
                        station: id.to_string(),
                        floor: floor.clone(),
                        epoch: 0,
                    }));
                Station {
                    bench,
                    acked: Vec::new(),
                    imported,
                    badge_at: HashMap::new(),
                    right_pin_at: HashMap::new(),
                    unproven: Vec::new(),
                }
            })
            .collect();
        Run {
            floor,
            stations,
            n: 0,
            clock: 0,
        }
    }

    /// The events a bench acknowledged reach the harness and the centre. An override is
    /// checked as it comes: its supervisor's right PIN must have been entered after their
    /// latest badge scan at this bench.
    fn took(&mut self, i: usize, ev: Vec<StoredEvent>) {
        self.floor.lock().unwrap().arrive(&ev);
        let st = &mut self.stations[i];
        for e in ev.iter().filter(|e| e.kind == EventType::Override) {
            OVERRIDES.fetch_add(1, Relaxed);
            let sup = e.str("supervisor_id").unwrap_or_default().to_string();
            let badge = st.badge_at.get(&sup).copied();
            let pin = st.right_pin_at.get(&sup).copied();
            if badge.is_none() || pin <= badge {
                st.unproven.push(format!(
                    "override by {sup} at {} without their PIN after the badge",
                    e.station_id
                ));
            }
        }
        st.acked.extend(ev);
    }

    fn scan(&mut self, i: usize, code: &str) {
        if self.return_open_at_the_other(i, code) {
            return;
        }
        self.n += 1;
        self.clock += 1;
        if let Some((id, _, _)) = SUPERVISORS.iter().find(|(_, badge, _)| *badge == code) {
            self.stations[i].badge_at.insert(id.to_string(), self.n);
        }
        let ev = self.stations[i]
            .bench
            .scan(code, None, t(self.clock))
            .unwrap();
        self.took(i, ev);
    }

    fn pin(&mut self, i: usize, right: bool) {
        self.n += 1;
        self.clock += 1;
        let st = &mut self.stations[i];
        let asked = st
            .bench
            .state()
            .auth
            .as_ref()
            .map(|a| a.employee.id.clone());
        let right_pin = asked
            .as_deref()
            .and_then(|id| SUPERVISORS.iter().find(|(s, _, _)| *s == id))
            .map(|(_, _, pin)| *pin);
        // A wrong PIN is one no fixture employee has.
        let pin = match (right, right_pin) {
            (true, Some(p)) => p,
            _ => "0000",
        };
        if let (Some(id), true) = (&asked, pin != "0000") {
            st.right_pin_at.insert(id.clone(), self.n);
        }
        let ev = st.bench.pin(&Pin::new(pin), t(self.clock)).unwrap();
        self.took(i, ev);
    }

    fn reason(&mut self, i: usize) {
        self.clock += 1;
        let ev = self.stations[i]
            .bench
            .reason(ApprovalReason::RecountedOk, t(self.clock))
            .unwrap();
        self.took(i, ev);
    }

    fn weigh(&mut self, i: usize, g: f64) {
        self.clock += 1;
        let ev = self.stations[i]
            .bench
            .weight(g.max(0.0), true, t(self.clock))
            .unwrap();
        self.took(i, ev);
    }

    /// Two returns of one order open at two benches at the same moment are not guarded (each
    /// counts the other's units only as far as it knew them when it opened): the runs never
    /// open a return of an order whose return is open at the other bench.
    fn return_open_at_the_other(&self, i: usize, code: &str) -> bool {
        let me = &self.stations[i].bench;
        if me.state().returns.as_ref().is_none_or(|m| m.open.is_some()) {
            return false;
        }
        let Some(order) = me.store().find_order(code).unwrap() else {
            return false;
        };
        let other = &self.stations[1 - i].bench;
        other
            .state()
            .returns
            .as_ref()
            .and_then(|m| m.open.as_ref())
            .is_some_and(|r| r.order.order_no == order.order_no)
    }

    /// The codes of the units the open order (or, in returns, the open return's order as
    /// packed) still needs.
    fn units_left(&self, i: usize) -> Vec<String> {
        let b = &self.stations[i].bench;
        let code_of = |sku: &str| b.catalog().get(sku).unwrap().barcodes[0].code.clone();
        let mut codes = Vec::new();
        if let Some(open) = &b.state().open {
            for (l, n) in open.lines.iter().zip(&open.scanned) {
                codes.extend((*n..l.qty).map(|_| code_of(&l.sku)));
            }
        } else if let Some(r) = b.state().returns.as_ref().and_then(|m| m.open.as_ref()) {
            for (l, n) in r.order.lines.iter().zip(&r.packed) {
                codes.extend((0..*n).map(|_| code_of(&l.sku)));
            }
        }
        codes
    }

    fn step(&mut self, i: usize, a: &Act) {
        match a {
            Act::Scan(c) => self.scan(i, c),
            Act::Fill(leave_out) => {
                let mut codes = self.units_left(i);
                codes.truncate(codes.len().saturating_sub(*leave_out as usize));
                for c in codes {
                    self.scan(i, &c);
                }
            }
            Act::WeighOpen(delta) => {
                let g = self.stations[i]
                    .bench
                    .state()
                    .open
                    .as_ref()
                    .map(|o| o.expected_g() + delta);
                self.weigh(i, g.unwrap_or(*delta));
            }
            Act::Approve { sup, right_pin } => {
                self.scan(i, SUPERVISORS[*sup].1);
                self.pin(i, *right_pin);
                self.reason(i);
            }
            Act::PackWhole {
                order,
                delta,
                approve,
            } => {
                self.scan(i, ORDERS[*order]);
                self.step(i, &Act::Fill(0));
                self.step(i, &Act::WeighOpen(*delta));
                self.scan(i, "BADGE-E001");
                if let Some((sup, right_pin)) = approve {
                    self.step(
                        i,
                        &Act::Approve {
                            sup: *sup,
                            right_pin: *right_pin,
                        },
                    );
                }
            }
            Act::OpenPart(order) => {
                self.scan(i, ORDERS[*order]);
                self.step(i, &Act::Fill(1));
            }
            Act::Pin(right) => self.pin(i, *right),
            Act::Reason => self.reason(i),
            Act::ReturnWhole { order, leave_out } => {
                self.scan(i, "PB-RETURNS");
                self.scan(i, ORDERS[*order]);
                let mut codes = self.units_left(i);
                codes.truncate(codes.len().saturating_sub(*leave_out as usize));
                for c in codes {
                    self.scan(i, &c);
                }
                self.scan(i, "PB-RET-REASON-MISSING_ITEM");
                self.scan(i, "PB-RETURN-CLOSE");
            }
        }
    }
}

/// What the runs did, over all cases: the properties are only meaningful if these happen.
static PACKED: AtomicUsize = AtomicUsize::new(0);
static OVERRIDES: AtomicUsize = AtomicUsize::new(0);
static PIN_REFUSED: AtomicUsize = AtomicUsize::new(0);
static RETURNS_CLOSED: AtomicUsize = AtomicUsize::new(0);
static RETURNS_ELSEWHERE: AtomicUsize = AtomicUsize::new(0);
static CLAIMED_ELSEWHERE: AtomicUsize = AtomicUsize::new(0);
static PACKED_ELSEWHERE: AtomicUsize = AtomicUsize::new(0);

fn check(run: &Run) -> Result<(), TestCaseError> {
    let floor = run.floor.lock().unwrap();
    let any = &run.stations[0].bench;
    for code in ORDERS {
        let order = any.store().find_order(code).unwrap().unwrap();
        let events: Vec<StoredEvent> = floor
            .log
            .iter()
            .filter(|e| e.order_no.as_deref() == Some(order.order_no.as_str()))
            .cloned()
            .collect();
        let p = OrderProgress::derive(&order, &events);
        for (l, n) in order.lines.iter().zip(&p.scanned) {
            prop_assert!(*n <= l.qty, "{code}: {} scanned {n} of {}", l.sku, l.qty);
        }
        let packs = events
            .iter()
            .filter(|e| e.kind == EventType::OrderPacked)
            .count();
        prop_assert!(packs <= 1, "{code} packed {packs} times on the floor");
        // Returns, at any bench, against what was packed.
        let recs = returns::fold(&events);
        for l in &order.lines {
            let back: u32 = recs.iter().map(|r| r.units_of(&l.sku)).sum();
            let packed = if packs == 1 { l.qty } else { 0 };
            prop_assert!(
                back <= packed,
                "{code}: {back} of {} back, {packed} packed",
                l.sku
            );
        }
        for e in events.iter().filter(|e| e.kind == EventType::ReturnItem) {
            prop_assert!(e.u64("returned").unwrap() <= e.u64("packed").unwrap());
        }
        let packed_at = events
            .iter()
            .find(|e| e.kind == EventType::OrderPacked)
            .map(|e| e.station_id.clone());
        for e in events.iter().filter(|e| e.kind == EventType::ReturnClosed) {
            RETURNS_CLOSED.fetch_add(1, Relaxed);
            if packed_at.as_ref() != Some(&e.station_id) {
                RETURNS_ELSEWHERE.fetch_add(1, Relaxed);
            }
        }
        PACKED.fetch_add(packs, Relaxed);
    }
    for st in &run.stations {
        let log = st.bench.store().events(&EventFilter::default()).unwrap();
        let own = &log[st.imported..];
        prop_assert_eq!(
            own.len(),
            st.acked.len(),
            "the log holds exactly what was acknowledged"
        );
        for (stored, acked) in own.iter().zip(&st.acked) {
            prop_assert_eq!(
                (stored.seq, stored.kind, &stored.hash),
                (acked.seq, acked.kind, &acked.hash)
            );
        }
        prop_assert_eq!(st.bench.store().verify(None).unwrap().error, None);
        prop_assert!(st.unproven.is_empty(), "{:?}", st.unproven);
        for e in &st.acked {
            match e.kind {
                EventType::PinFailed => {
                    PIN_REFUSED.fetch_add(1, Relaxed);
                }
                EventType::ScanRejected => match e.str("reason") {
                    Some("order_claimed_elsewhere") => {
                        CLAIMED_ELSEWHERE.fetch_add(1, Relaxed);
                    }
                    Some("order_already_packed") => {
                        PACKED_ELSEWHERE.fetch_add(1, Relaxed);
                    }
                    _ => {}
                },
                _ => {}
            }
        }
    }
    Ok(())
}

/// Half the runs start with a packer signed in at each bench, so that packing, claims and
/// returns happen often; the other half start from nobody.
fn steps() -> impl Strategy<Value = Vec<(usize, Act)>> {
    proptest::collection::vec((0usize..2, act()), 1..70)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    // Run (once) by the test below, which then checks the tallies.
    fn a_floor_of_two_benches_keeps_every_rule(signed_in in any::<bool>(), steps in steps()) {
        let mut run = Run::new();
        if signed_in {
            run.scan(0, PACKER);
            run.scan(1, PACKER2);
        }
        for (i, a) in &steps {
            run.step(*i, a);
            let open = |i: usize| run.stations[i].bench.state().open.as_ref().map(|o| o.order.order_no.clone());
            if let (Some(a), Some(b)) = (open(0), open(1)) {
                prop_assert_ne!(a, b, "one order open at both benches");
            }
        }
        check(&run)?;
    }
}

#[test]
fn a_floor_of_two_benches_packs_approves_returns_and_contends_by_the_rules() {
    // The property above only means something if these happen: run it, then count.
    a_floor_of_two_benches_keeps_every_rule();
    let tallies: BTreeMap<&str, usize> = [
        ("orders packed", PACKED.load(Relaxed)),
        ("overrides", OVERRIDES.load(Relaxed)),
        ("wrong PINs", PIN_REFUSED.load(Relaxed)),
        ("returns closed", RETURNS_CLOSED.load(Relaxed)),
        (
            "returns at the other bench",
            RETURNS_ELSEWHERE.load(Relaxed),
        ),
        ("claims refused", CLAIMED_ELSEWHERE.load(Relaxed)),
        ("already packed refusals", PACKED_ELSEWHERE.load(Relaxed)),
    ]
    .into_iter()
    .collect();
    eprintln!("floor runs: {tallies:?}");
    for (what, n) in &tallies {
        assert!(*n > 0, "no {what} in any run: {tallies:?}");
    }
}

/// Found by the property: a return at the bench that packed the order must count the units
/// already checked in at another bench (the centre has them, this bench's log does not).
#[test]
fn a_return_at_the_packing_bench_counts_returns_checked_in_elsewhere() {
    let mut run = Run::new();
    run.scan(0, PACKER);
    run.scan(1, PACKER2);
    run.step(
        0,
        &Act::PackWhole {
            order: 1,
            delta: 0.0,
            approve: None,
        },
    );
    run.step(
        1,
        &Act::ReturnWhole {
            order: 1,
            leave_out: 0,
        },
    );
    run.scan(0, "PB-RETURNS");
    run.scan(0, ORDER2);
    let opened = run.stations[0].acked.last().unwrap().clone();
    assert_eq!(opened.kind, EventType::ReturnOpened);
    assert_eq!(
        opened.str("return_id"),
        Some("TB20261122002-R2"),
        "the other bench's return was R1"
    );
    run.scan(0, LIP_R02);
    let last = run.stations[0].acked.last().unwrap();
    assert_eq!(last.str("reason"), Some("over_quantity"), "{last:?}");
    check(&run).unwrap();
}
