use chrono::{DateTime, FixedOffset};

use crate::domain::barcode;
use crate::domain::catalog::Catalog;
use crate::domain::commands::{parse_command, Command};
use crate::domain::event::{
    BadgeLocked, ClaimHolder, DispatchStarted, EventType, NewEvent, OrderClaimed, OrderDispatched,
    PackerSignedIn, RejectReason, ScanRejected, StoredEvent,
};
use crate::domain::progress::OrderProgress;
use crate::domain::returns::ReturnOpened;
use crate::domain::session::{
    Decision, Dispatch, Engine, EngineConfig, Input, LineInfo, OpenOrder, OpenOrderNow, OpenReturn,
    OrderView, Resolved, ReturnsMode, Scan, State, Strikes,
};
use std::collections::HashMap;

use crate::domain::{Employee, Order, Packaging};
use crate::store::{ClaimOutcome, Claims, EventFilter, Holder, OrderNow, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("catalog: {0}")]
    Catalog(#[from] crate::domain::catalog::CatalogError),
    /// A label asked for an order the store no longer has.
    #[error("catalog: order {0} vanished")]
    OrderVanished(String),
}

pub struct Bench<S: Store> {
    store: S,
    engine: Engine,
    /// Reference data held in memory, so a scan is resolved without reading the store;
    /// re-read when the store's reference version moves (an import while the bench runs).
    catalog: Catalog,
    badges: HashMap<String, Employee>,
    packagings: HashMap<String, Packaging>,
    reference_version: i64,
    /// The open order's version and cancellation as last read, for the stale-order check.
    open_now: Option<(String, Option<OrderNow>)>,
    /// The central claims; `None` for a bench alone, which holds every order it opens.
    claims: Option<Box<dyn Claims>>,
    /// Other benches' events of the order this bench claimed last, from the claim.
    history: Option<(String, Vec<StoredEvent>)>,
    /// Labels owed from before the restart, found by the restoring scan; the station loop
    /// takes them once.
    owed_labels: Vec<(String, bool)>,
}

/// Orders whose last `order_packed` or `reprint_requested` has no `label_printed` after it:
/// order → (seq it became owed, a `print_failed` followed).
#[derive(Default)]
struct OwedLabels(std::collections::HashMap<String, (i64, bool)>);

impl OwedLabels {
    fn observe(&mut self, e: &StoredEvent) {
        let Some(o) = &e.order_no else { return };
        match e.kind {
            // Asked for (again): owed, and due now rather than queued.
            EventType::OrderPacked | EventType::ReprintRequested => {
                let seq = self.0.get(o).map_or(e.seq, |x| x.0);
                self.0.insert(o.clone(), (seq, false));
            }
            EventType::PrintFailed => {
                if let Some(x) = self.0.get_mut(o) {
                    x.1 = true;
                }
            }
            EventType::LabelPrinted => {
                self.0.remove(o);
            }
            _ => {}
        }
    }

    /// Oldest first, with whether a print failed since.
    fn into_list(self) -> Vec<(String, bool)> {
        let mut owed: Vec<_> = self.0.into_iter().collect();
        owed.sort_by_key(|(_, (seq, _))| *seq);
        owed.into_iter().map(|(o, (_, f))| (o, f)).collect()
    }
}

impl<S: Store> Bench<S> {
    /// Opens a bench on a store and restores where this station was: the signed-in packer,
    /// the open order with its exact counts, a dispatch in progress, the last packed order.
    pub fn open(store: S, cfg: EngineConfig) -> Result<Self, BenchError> {
        let mut bench = Bench {
            store,
            engine: Engine::new(cfg),
            catalog: Catalog::default(),
            badges: HashMap::new(),
            packagings: HashMap::new(),
            reference_version: 0,
            open_now: None,
            claims: None,
            history: None,
            owed_labels: Vec::new(),
        };
        bench.reload()?;
        let (state, owed) = bench.restore()?;
        bench.engine.commit(state);
        bench.owed_labels = owed.into_list();
        Ok(bench)
    }

    /// Claims orders through `claims` (the central database) instead of alone.
    pub fn with_claims(mut self, claims: Box<dyn Claims>) -> Self {
        self.claims = Some(claims);
        // A return left open at a restart: the order's pack record (packed at another
        // bench) or its returns at other benches are on the centre, not in this log, so the
        // restored return is built again with them (one bounded round trip at start).
        let open_return = self
            .engine
            .state()
            .returns
            .as_ref()
            .and_then(|m| m.open.as_ref())
            .map(|r| r.order.order_no.clone());
        if let Some(order_no) = open_return {
            let history = self
                .claims
                .as_mut()
                .map(|c| c.packed_history(&order_no))
                .unwrap_or_default();
            if !history.is_empty() {
                self.history = Some((order_no, history));
                match self.restore() {
                    Ok((state, _)) => self.engine.commit(state),
                    Err(e) => tracing::warn!("the open return's pack record not restored: {e}"),
                }
            }
        }
        self
    }

    /// Orders of this station whose label was owed when it last stopped (oldest first, with
    /// whether a print had failed); empty after the first call.
    pub fn take_owed_labels(&mut self) -> Vec<(String, bool)> {
        std::mem::take(&mut self.owed_labels)
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    pub fn state(&self) -> &State {
        self.engine.state()
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// When the approval in progress lapses by the clock, if one is in progress.
    pub fn approval_deadline(&self) -> Option<DateTime<FixedOffset>> {
        self.engine.approval_deadline()
    }

    pub fn config(&self) -> &EngineConfig {
        self.engine.config()
    }

    /// Re-reads the reference data the bench holds in memory.
    fn reload(&mut self) -> Result<(), BenchError> {
        // Taken first (an import after this point is caught next time) and kept only once
        // everything loaded, so a failed reload is tried again at the next input.
        let version = self.store.reference_version()?;
        self.catalog = Catalog::new(self.store.load_catalog()?)?;
        self.badges = (self.store.employees()?.into_iter())
            .map(|e| (e.badge.clone(), e))
            .collect();
        self.packagings = (self.store.packagings()?.into_iter())
            .map(|p| (p.code.clone(), p))
            .collect();
        self.open_now = None;
        self.reference_version = version;
        Ok(())
    }

    /// Catches up with an import made while the bench runs (one small read when nothing
    /// changed); true when something had.
    fn refresh(&mut self) -> Result<bool, BenchError> {
        let changed = self.store.reference_version()? != self.reference_version;
        if changed {
            tracing::info!("reference data changed: reloading catalog, badges and packaging");
            self.reload()?;
        }
        Ok(changed)
    }

    pub fn scan(
        &mut self,
        raw: &str,
        scanner: Option<&str>,
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<StoredEvent>, BenchError> {
        let code = barcode::parse(raw);
        self.refresh()?;
        let resolved = self.resolve(&code)?;
        self.handle(
            Input::Scan(Box::new(Scan {
                code,
                resolved,
                scanner: scanner.map(str::to_string),
            })),
            now,
        )
    }

    /// A code offered to open the supervisor view: the engine decides, and the log says who.
    pub fn supervisor_view(
        &mut self,
        raw: &str,
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<StoredEvent>, BenchError> {
        let code = barcode::parse(raw);
        // A supervisor badge imported while the bench runs counts at once.
        self.refresh()?;
        let resolved = self.resolve(&code)?;
        self.handle(
            Input::SupervisorView(Box::new(Scan {
                code,
                resolved,
                scanner: None,
            })),
            now,
        )
    }

    pub fn weight(
        &mut self,
        grams: f64,
        stable: bool,
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<StoredEvent>, BenchError> {
        // No store read here: most readings only move the scale's number; one the engine
        // acts on catches up with imports in `handle` first.
        self.handle(Input::Weight { grams, stable }, now)
    }

    /// A PIN typed for the badge that asked for one.
    pub fn pin(
        &mut self,
        pin: &crate::domain::pin::Pin,
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<StoredEvent>, BenchError> {
        // An approval past its time lapses at this input and its PIN is not looked at: not
        // at the centre either, where a wrong one would count.
        if self.approval_deadline().is_none_or(|due| now < due)
            && !self.check_pin_centrally(pin, now)?
        {
            if let Some(refused) = self.no_copy_offline(now) {
                // Not a wrong PIN: nothing to check it against. Nothing counts; the pad stays.
                return Ok(self.store.append(&[refused])?);
            }
        }
        // A hash cheaper than today's (an earlier packbench's): the right PIN, once typed, is
        // hashed again at today's cost. Checked on the old hash itself, which is cheap.
        let cheap = (self.engine.state().auth.as_ref())
            .filter(|a| !a.pin_ok)
            .and_then(|a| Some((a.employee.id.clone(), a.employee.pin_hash.clone()?)))
            .filter(|(_, h)| h.needs_rehash());
        let stored = self.handle(Input::Pin(pin.clone()), now)?;
        if let Some((id, old)) = cheap {
            if old.verify(pin) {
                crate::import::set_pin(&mut self.store, &id, Some(&pin.hash()))?;
                tracing::info!(employee = %id, "PIN hash re-hashed at today's cost");
            }
        }
        Ok(stored)
    }

    /// With a centre, the PIN of the badge waiting for one is checked there first (wrong
    /// ones count across every bench and console, lockouts are review items), and the engine
    /// decides on that answer: a right PIN's proof (the centre's hash of it) becomes this
    /// bench's copy, any other answer clears the copy, so a PIN changed or locked centrally
    /// never passes here. No answer: the bench's copy, if it has one, decides (offline).
    /// True when the centre answered (or there was nothing to ask it).
    fn check_pin_centrally(
        &mut self,
        pin: &crate::domain::pin::Pin,
        now: DateTime<FixedOffset>,
    ) -> Result<bool, BenchError> {
        let Some(id) = (self.engine.state().auth.as_ref())
            .filter(|a| !a.pin_ok)
            .map(|a| a.employee.id.clone())
        else {
            return Ok(true);
        };
        let Some(claims) = self.claims.as_mut() else {
            return Ok(true);
        };
        let Some(answer) = claims.check_pin(&id, pin) else {
            return Ok(false);
        };
        use crate::central::PinCheck;
        // Locked at the centre (wrong PINs elsewhere): this bench refuses the badge too until then.
        let locked_until = match &answer {
            PinCheck::LockedNow { until } | PinCheck::Locked { until: Some(until) } => {
                Some(until.with_timezone(now.offset()))
            }
            _ => None,
        };
        let hash = match answer {
            PinCheck::Right { proof } => Some(proof),
            other => {
                tracing::info!(employee = %id, answer = ?other, "the centre refused the PIN");
                None
            }
        };
        crate::import::set_pin(&mut self.store, &id, hash.as_ref())?;
        let mut next = self.engine.state().clone();
        if let Some(a) = next.auth.as_mut() {
            a.employee.pin_hash = hash;
        }
        if let Some(until) = locked_until {
            next.strikes.entry(id).or_default().locked_until = Some(until);
        }
        self.engine.commit(next);
        Ok(true)
    }

    /// The centre did not answer and this bench holds no copy of the waiting badge's PIN
    /// (it never saw the centre accept it here): the PIN cannot be checked at all, which is
    /// said as such rather than counted as a wrong PIN.
    fn no_copy_offline(&self, now: DateTime<FixedOffset>) -> Option<NewEvent> {
        let auth = self.engine.state().auth.as_ref().filter(|a| !a.pin_ok)?;
        if auth.employee.pin_hash.is_some() {
            return None;
        }
        let id = &auth.employee.id;
        let mut r = ScanRejected::new(
            "",
            RejectReason::CentralUnreachable,
            crate::text!("refuse.pin_unchecked_offline", who = id).en,
        );
        r.employee_id = Some(id.clone());
        let actor = self.engine.state().packer.as_ref().map(|p| p.id.as_str());
        let open = self
            .engine
            .state()
            .open
            .as_ref()
            .map(|o| o.order.order_no.as_str());
        let mut e = NewEvent::of(r, now, &self.engine.config().station_id).actor(actor);
        if let Some(o) = open {
            e = e.order(o);
        }
        Some(e)
    }

    /// A supervisor's reason chosen on the screen or given as a keypad line.
    pub fn reason(
        &mut self,
        reason: crate::domain::event::ApprovalReason,
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<StoredEvent>, BenchError> {
        self.handle(Input::Reason(reason), now)
    }

    /// The clock alone: an approval past `[security] approval_timeout_s` lapses. Nothing is
    /// decided (or read) while no approval is due.
    pub fn tick(&mut self, now: DateTime<FixedOffset>) -> Result<Vec<StoredEvent>, BenchError> {
        if self.approval_deadline().is_none_or(|due| now < due) {
            return Ok(Vec::new());
        }
        self.handle(Input::Tick, now)
    }

    /// The PIN pad or reason choice closed without finishing.
    pub fn cancel_auth(
        &mut self,
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<StoredEvent>, BenchError> {
        self.handle(Input::CancelAuth, now)
    }

    pub fn command(
        &mut self,
        c: Command,
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<StoredEvent>, BenchError> {
        self.refresh()?;
        self.handle(Input::Command(c), now)
    }

    /// Appends events that come from outside the engine (printer results, device states).
    pub fn record(
        &mut self,
        events: &[crate::domain::NewEvent],
    ) -> Result<Vec<StoredEvent>, BenchError> {
        Ok(self.store.append(events)?)
    }

    /// The open order's version and cancellation as stored, read once per order and again
    /// after an import.
    fn open_now(&mut self) -> Result<Option<OpenOrderNow>, BenchError> {
        let Some(o) = &self.engine.state().open else {
            return Ok(None);
        };
        let no = &o.order.order_no;
        let now = match self.open_now.as_ref().filter(|(n, _)| n == no) {
            Some((_, now)) => now.clone(),
            None => {
                let now = self.store.order_now(no)?;
                self.open_now = Some((no.clone(), now.clone()));
                now
            }
        };
        Ok(now.map(|n| OpenOrderNow {
            version: n.version,
            cancelled: n.cancelled,
        }))
    }

    fn handle(
        &mut self,
        input: Input,
        now: DateTime<FixedOffset>,
    ) -> Result<Vec<StoredEvent>, BenchError> {
        let mut open_now = self.open_now()?;
        let mut decision = self.engine.decide(&input, open_now.as_ref(), now);
        if matches!(input, Input::Weight { .. }) && !decision.events.is_empty() && self.refresh()? {
            // A weighing is decided on the order as it is now: one changed or cancelled by
            // an import since it was opened is refused, not packed.
            open_now = self.open_now()?;
            decision = self.engine.decide(&input, open_now.as_ref(), now);
        }
        if let Some(order_no) = self.return_needs_centre(&decision) {
            // A return of an order another bench packed: its pack record is on the centre.
            // Of one packed here: returns checked in at other benches are there.
            let history = match self.claims.as_mut() {
                Some(c) => c.packed_history(&order_no),
                None => Vec::new(),
            };
            if !history.is_empty() {
                if let Some(again) =
                    self.with_history(&order_no, history, &input, open_now.as_ref(), now)?
                {
                    decision = again;
                }
            }
        }
        if let Some(order_no) = self
            .newly_opened(&decision)
            .filter(|_| self.claims.is_some())
        {
            decision = self.claim(&input, decision, &order_no, open_now.as_ref(), now)?;
        }
        // Durable first; the engine moves on only once the log has the events.
        let stored = self.store.append(&decision.events)?;
        self.engine.commit(decision.next);
        Ok(stored)
    }

    /// The order of a return this bench decided on its own log alone, when the centre may
    /// know more: refused as never shipped (packed at another bench), or opened without the
    /// other benches' latest events of the order (their returns count against what was packed).
    fn return_needs_centre(&self, d: &Decision) -> Option<String> {
        d.events
            .iter()
            .find(|e| {
                e.payload_as::<ScanRejected>()
                    .is_some_and(|r| r.reason == RejectReason::NotShipped)
                    // Fetched afresh for every return: a history loaded earlier may be stale.
                    || e.payload_as::<ReturnOpened>().is_some_and(|o| !o.repeat)
            })
            .and_then(|e| e.order_no.clone())
    }

    /// The order a decision opens that this bench did not have open before.
    fn newly_opened(&self, d: &Decision) -> Option<String> {
        let opened = &d.next.open.as_ref()?.order.order_no;
        let before = self.engine.state().open.as_ref().map(|o| &o.order.order_no);
        (before != Some(opened)).then(|| opened.clone())
    }

    /// Opening an order claims it: granted, the claim is recorded before the order is
    /// loaded; held elsewhere, packed elsewhere or no answer, the scan is refused and the
    /// bench stays as it was. The one network round trip a scan may make.
    /// Keeps the other benches' events of `order_no` and decides a scan again on the order's
    /// whole history (its view is resolved afresh); `None` for an input that is not a scan.
    fn with_history(
        &mut self,
        order_no: &str,
        history: Vec<StoredEvent>,
        input: &Input,
        open_now: Option<&OpenOrderNow>,
        now: DateTime<FixedOffset>,
    ) -> Result<Option<Decision>, BenchError> {
        self.history = Some((order_no.to_string(), history));
        let Input::Scan(s) = input else {
            return Ok(None);
        };
        let resolved = self.resolve(&s.code)?;
        let again = Input::Scan(Box::new(Scan {
            resolved,
            ..(**s).clone()
        }));
        Ok(Some(self.engine.decide(&again, open_now, now)))
    }

    fn claim(
        &mut self,
        input: &Input,
        decision: Decision,
        order_no: &str,
        open_now: Option<&OpenOrderNow>,
        now: DateTime<FixedOffset>,
    ) -> Result<Decision, BenchError> {
        let packer = decision.next.packer.as_ref().map(|p| p.id.clone());
        let Some(claims) = self.claims.as_mut() else {
            return Ok(decision);
        };
        let outcome = claims.claim(order_no, packer.as_deref().unwrap_or_default());
        let station = self.engine.config().station_id.clone();
        let refuse = |reason: RejectReason, detail: String, holder: Option<&Holder>| {
            let code = match input {
                Input::Scan(s) => s.code.text.as_str(),
                _ => order_no,
            };
            let mut r = ScanRejected::new(code, reason, detail);
            r.holder = holder.map(|h| ClaimHolder {
                held_by: h.station_id.clone(),
                held_by_packer: h.packer_id.clone(),
                since: h.since.clone(),
            });
            Decision {
                events: vec![NewEvent::of(r, now, &station)
                    .actor(packer.as_deref())
                    .order(order_no)],
                next: self.engine.state().clone(),
            }
        };
        Ok(match outcome {
            ClaimOutcome::Held(h) => refuse(
                RejectReason::OrderClaimedElsewhere,
                crate::text!(
                    "refuse.claimed_elsewhere",
                    o = order_no,
                    station = h.station_id,
                    packer = h.packer_id.as_deref().unwrap_or("?"),
                    since = h.since
                )
                .en,
                Some(&h),
            ),
            ClaimOutcome::Packed(h) => refuse(
                RejectReason::OrderAlreadyPacked,
                crate::text!(
                    "refuse.claimed_packed",
                    o = order_no,
                    station = h.station_id,
                    at = h.since
                )
                .en,
                Some(&h),
            ),
            ClaimOutcome::Unreachable(why) => refuse(
                RejectReason::CentralUnreachable,
                crate::text!("refuse.central_silent", why = why).en,
                None,
            ),
            ClaimOutcome::Granted { epoch, history } => {
                let mut decision = decision;
                if !history.is_empty() {
                    // Units scanned at other benches count here too.
                    if let Some(again) =
                        self.with_history(order_no, history, input, open_now, now)?
                    {
                        decision = again;
                    }
                } else {
                    self.history = None;
                }
                let claimed = NewEvent::of(
                    OrderClaimed {
                        claim_epoch: epoch,
                        offline: epoch.is_none(),
                    },
                    now,
                    &station,
                )
                .actor(packer.as_deref())
                .order(order_no);
                decision.events.insert(0, claimed);
                decision
            }
        })
    }

    /// Resolution order: command sheet, badge, packaging, order/waybill, product.
    fn resolve(&self, code: &barcode::ParsedCode) -> Result<Resolved, BenchError> {
        let text = code.text.as_str();
        if let Some(c) = parse_command(text) {
            return Ok(Resolved::Command(c));
        }
        if let Some(e) = self.badges.get(text) {
            return Ok(Resolved::Badge(e.clone()));
        }
        if let Some(p) = self.packagings.get(text) {
            return Ok(Resolved::Packaging(p.clone()));
        }
        if let Some(order) = self.store.find_order(text)? {
            return Ok(Resolved::Order(Box::new(self.view(order)?)));
        }
        if let Some(m) = self.catalog.lookup(code) {
            return Ok(Resolved::Item(m));
        }
        Ok(Resolved::Unknown)
    }

    /// An order with its catalog details and the progress its events add up to.
    pub fn view(&self, order: Order) -> Result<OrderView, BenchError> {
        let mut events = self.store.events(&EventFilter {
            order_no: Some(order.order_no.clone()),
            ..Default::default()
        })?;
        if let Some((no, remote)) = &self.history {
            if *no == order.order_no {
                // Other benches' events of this order, in time order with this bench's own.
                events.extend(remote.iter().cloned());
                events.sort_by_key(|e| e.at);
            }
        }
        let progress = OrderProgress::derive(&order, &events);
        let lines = order
            .lines
            .iter()
            .map(|l| {
                let sku = self.catalog.get(&l.sku);
                LineInfo {
                    sku: l.sku.clone(),
                    name: sku.map(|s| s.name.clone()).unwrap_or_default(),
                    attributes: sku.map(|s| s.attributes.clone()).unwrap_or_default(),
                    qty: l.qty,
                    gift: l.gift,
                    unit_weight_g: sku.map(|s| s.unit_weight_g).unwrap_or(0.0),
                    unit_tolerance_g: sku.and_then(|s| s.weight_tolerance_g),
                }
            })
            .collect();
        Ok(OrderView {
            order,
            lines,
            progress,
        })
    }

    /// One walk over this station's events: where it was, and which labels it still owes.
    fn restore(&self) -> Result<(State, OwedLabels), BenchError> {
        let station = self.engine.config().station_id.clone();
        let mut state = State::default();
        let mut owed = OwedLabels::default();
        let mut open_order: Option<String> = None;
        // Returns check-in: on or off, and the return open (order, return id).
        let mut returns_on = false;
        let mut open_return: Option<(String, String)> = None;
        self.store.scan_events(
            &EventFilter {
                station_id: Some(station),
                types: vec![
                    EventType::PackerSignedIn.as_str(),
                    EventType::PackerSignedOut.as_str(),
                    EventType::OrderLoaded.as_str(),
                    EventType::OrderReleased.as_str(),
                    EventType::OrderPacked.as_str(),
                    EventType::OrderHeld.as_str(),
                    EventType::DispatchStarted.as_str(),
                    EventType::OrderDispatched.as_str(),
                    EventType::DispatchClosed.as_str(),
                    EventType::ReprintRequested.as_str(),
                    EventType::LabelPrinted.as_str(),
                    EventType::PrintFailed.as_str(),
                    EventType::BadgeLocked.as_str(),
                    EventType::ReturnsStarted.as_str(),
                    EventType::ReturnsEnded.as_str(),
                    EventType::ReturnOpened.as_str(),
                    EventType::ReturnClosed.as_str(),
                ],
                ..Default::default()
            },
            &mut |e| {
                owed.observe(&e);
                match e.kind {
                    EventType::PackerSignedIn => {
                        let signed_in = e.payload_as::<PackerSignedIn>();
                        state.returns_only = signed_in.as_ref().is_some_and(|p| p.returns_only);
                        state.packer = signed_in.map(|p| {
                            crate::domain::Employee::new(
                                &p.packer_id,
                                &p.name,
                                Default::default(),
                                "",
                            )
                        });
                    }
                    EventType::PackerSignedOut => {
                        state.packer = None;
                        state.returns_only = false;
                        open_order = None;
                        state.dispatch = None;
                        returns_on = false;
                        open_return = None;
                    }
                    EventType::ReturnsStarted => returns_on = true,
                    EventType::ReturnsEnded => {
                        returns_on = false;
                        open_return = None;
                    }
                    EventType::ReturnOpened => {
                        if let (Some(o), Some(r)) = (&e.order_no, e.payload_as::<ReturnOpened>()) {
                            open_return = Some((o.clone(), r.return_id));
                        }
                    }
                    EventType::ReturnClosed => open_return = None,
                    EventType::OrderLoaded => open_order = e.order_no.clone(),
                    EventType::OrderReleased | EventType::OrderHeld if open_order == e.order_no => {
                        open_order = None;
                    }
                    EventType::OrderPacked => {
                        if open_order == e.order_no {
                            open_order = None;
                        }
                        state.last_packed = e.order_no.clone();
                    }
                    EventType::DispatchStarted => {
                        state.dispatch = Some(Dispatch {
                            batch_id: e
                                .payload_as::<DispatchStarted>()
                                .map(|d| d.batch_id)
                                .unwrap_or_default(),
                            carrier: None,
                            count: 0,
                        });
                    }
                    EventType::OrderDispatched => {
                        if let Some(d) = state.dispatch.as_mut() {
                            let od = e.payload_as::<OrderDispatched>();
                            d.carrier = od.as_ref().map(|o| o.carrier.clone());
                            d.count = od.map_or(0, |o| o.count);
                        }
                    }
                    EventType::DispatchClosed => state.dispatch = None,
                    // A restart does not lift a lock.
                    EventType::BadgeLocked => {
                        if let Some(l) = e.payload_as::<BadgeLocked>() {
                            if let Ok(until) = DateTime::parse_from_rfc3339(&l.until) {
                                state.strikes.insert(
                                    l.employee_id,
                                    Strikes {
                                        failures: 0,
                                        locked_until: Some(until),
                                    },
                                );
                            }
                        }
                    }
                    _ => {}
                }
                true
            },
        )?;
        // The packer's full record (roles) comes from the employee table.
        if let Some(p) = &state.packer {
            state.packer = Some(self.store.employee(&p.id)?.unwrap_or_else(|| p.clone()));
        }
        if let (Some(_), Some(order_no)) = (&state.packer, open_order) {
            if let Some(order) = self.store.find_order(&order_no)? {
                let view = self.view(order)?;
                let open =
                    OpenOrder::from_view(&view, self.engine.config().default_packaging.as_ref());
                state.open = Some(open);
            }
        }
        if state.packer.is_some() && returns_on {
            let mut mode = ReturnsMode::default();
            if let Some((order_no, id)) = open_return {
                if let Some(order) = self.store.find_order(&order_no)? {
                    let view = self.view(order)?;
                    let station = &self.engine.config().station_id;
                    let record = view
                        .progress
                        .returns
                        .iter()
                        .find(|r| r.return_id == id && &r.station_id == station);
                    mode.open = Some(OpenReturn::new(&view, &id, record));
                }
            }
            state.returns = Some(mode);
        }
        Ok((state, owed))
    }
}
