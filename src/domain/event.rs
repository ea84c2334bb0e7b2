//! Station events: the one vocabulary shared by the log, the headless JSON lines and audit.
//!
//! Every event type has its fields as a Rust struct of the same name (`ItemAccepted`,
//! `ScanRejected`, ...), and [`EventData`] holds one of them: the engine writes events only
//! through these types and every reader gets them back (`StoredEvent::payload`), so a renamed
//! or retyped field is a compile error rather than a blank on a screen.
//!
//! The log stores (and hashes) each event's fields as the JSON object its struct serialises
//! to, so the structs are the storage format too: keys are sorted (serde_json's map), a field
//! that may be unknown is written as `null`, a field only some events of a type have is left
//! out when absent (`skip_serializing_if`), integers stay integers and grams stay floats.
//! `tests/engine.rs` pins the bytes against the log written before these types existed.

use chrono::{DateTime, FixedOffset};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

// The refusal and approval words were defined here first; their paths stay.
pub use super::vocab::{ApprovalReason, AuthPurpose, LapseCause, OverrideReason, RejectReason};

// The payload structs, by the part of the work they record; one namespace for readers.
mod approval;
mod packing;
mod returns;
mod station;
pub use approval::*;
pub use packing::*;
pub use returns::*;
pub use station::*;

macro_rules! event_types {
    ($($variant:ident => $name:literal),* $(,)?) => {
        /// Every kind of event the station records.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum EventType { $( #[serde(rename = $name)] $variant ),* }

        impl EventType {
            pub const ALL: &'static [EventType] = &[$(EventType::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(EventType::$variant => $name),* }
            }

            pub fn parse(s: &str) -> Option<EventType> {
                match s { $($name => Some(EventType::$variant),)* _ => None }
            }
        }

        /// One event's own fields, as the type of its event type.
        #[derive(Debug, Clone, PartialEq)]
        pub enum EventData { $( $variant($variant) ),* }

        impl EventData {
            pub fn kind(&self) -> EventType {
                match self { $(EventData::$variant(_) => EventType::$variant),* }
            }

            /// The JSON object the log stores for these fields.
            pub fn to_map(&self) -> Map<String, Value> {
                match self { $(EventData::$variant(d) => object(d)),* }
            }

            /// Reads the stored fields of an event of type `kind`.
            pub fn decode(kind: EventType, data: &Map<String, Value>) -> Result<EventData, serde_json::Error> {
                Ok(match kind {
                    $(EventType::$variant => EventData::$variant($variant::deserialize(data)?)),*
                })
            }
        }

        $(
            impl Payload for $variant {
                const KIND: EventType = EventType::$variant;
            }

            impl From<$variant> for EventData {
                fn from(d: $variant) -> EventData {
                    EventData::$variant(d)
                }
            }
        )*
    };
}

event_types! {
    PackerSignedIn => "packer_signed_in",
    PackerSignedOut => "packer_signed_out",
    OrderLoaded => "order_loaded",
    OrderReleased => "order_released",
    ItemAccepted => "item_accepted",
    ScanRejected => "scan_rejected",
    ScanUndone => "scan_undone",
    PickerSet => "picker_set",
    PackagingSet => "packaging_set",
    WeightChecked => "weight_checked",
    Override => "override",
    OrderPacked => "order_packed",
    OrderHeld => "order_held",
    ReprintRequested => "reprint_requested",
    LabelPrinted => "label_printed",
    PrintFailed => "print_failed",
    DispatchStarted => "dispatch_started",
    OrderDispatched => "order_dispatched",
    DispatchClosed => "dispatch_closed",
    Device => "device",
    Imported => "imported",
    OrderChanged => "order_changed",
    OrderCancelled => "order_cancelled",
    SupervisorViewOpened => "supervisor_view_opened",
    OrderClaimed => "order_claimed",
    ClaimReleased => "claim_released",
    ClaimConflict => "claim_conflict",
    Reviewed => "reviewed",
    PinRequired => "pin_required",
    PinFailed => "pin_failed",
    BadgeLocked => "badge_locked",
    ReasonRequired => "reason_required",
    ApprovalLapsed => "approval_lapsed",
    LogAlarm => "log_alarm",
    ReturnsStarted => "returns_started",
    ReturnsEnded => "returns_ended",
    ReturnOpened => "return_opened",
    ReturnItem => "return_item",
    ForeignItem => "foreign_item",
    ReturnCondition => "return_condition",
    ReturnReasonGiven => "return_reason",
    ReturnUndone => "return_undone",
    ReturnWeighed => "return_weighed",
    ReturnClosed => "return_closed",
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The fields of one event type: ties the struct to its type name.
pub trait Payload: Serialize + DeserializeOwned + Into<EventData> {
    const KIND: EventType;
}

fn object<T: Serialize>(d: &T) -> Map<String, Value> {
    match serde_json::to_value(d) {
        Ok(Value::Object(m)) => m,
        // Every payload is a struct with named fields: always an object.
        other => unreachable!("an event payload serialised to {other:?}"),
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Grams as stored: a reading that was not a number (NaN) is stored as `null` by serde_json,
/// and reads back as NaN rather than making the whole event unreadable.
fn grams<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// An event decided but not yet stored. `data` is the JSON object of its payload.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub at: DateTime<FixedOffset>,
    pub kind: EventType,
    pub actor: Option<String>,
    pub station_id: String,
    pub order_no: Option<String>,
    pub data: Map<String, Value>,
}

impl NewEvent {
    /// An event of `data`'s type with `data` as its fields.
    pub fn of(data: impl Into<EventData>, at: DateTime<FixedOffset>, station_id: &str) -> Self {
        let data = data.into();
        NewEvent {
            at,
            kind: data.kind(),
            actor: None,
            station_id: station_id.to_string(),
            order_no: None,
            data: data.to_map(),
        }
    }

    /// An event with no fields yet, filled with [`NewEvent::with`]: for tests and tools that
    /// write raw events (a tampered log, a synthetic one). The station and the imports build
    /// every event from its typed payload with [`NewEvent::of`].
    pub fn new(kind: EventType, at: DateTime<FixedOffset>, station_id: &str) -> Self {
        NewEvent {
            at,
            kind,
            actor: None,
            station_id: station_id.to_string(),
            order_no: None,
            data: Map::new(),
        }
    }

    pub fn actor(mut self, actor: Option<&str>) -> Self {
        self.actor = actor.map(str::to_string);
        self
    }

    pub fn order(mut self, order_no: &str) -> Self {
        self.order_no = Some(order_no.to_string());
        self
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_string(), value.into());
        self
    }

    /// The fields of a decided event known to be of type `P`; `None` for any other type.
    pub fn payload_as<P: Payload>(&self) -> Option<P> {
        payload_as(self.kind, &self.data, None)
    }
}

/// `data` as type `P` when `kind` is `P`'s; a stored object that does not read as its
/// type is said in the log (`seq` when stored) and its fields ignored.
fn payload_as<P: Payload>(
    kind: EventType,
    data: &Map<String, Value>,
    seq: Option<i64>,
) -> Option<P> {
    if kind != P::KIND {
        return None;
    }
    match P::deserialize(data) {
        Ok(p) => Some(p),
        Err(err) => {
            tracing::warn!(?seq, %kind, %err, "event data does not read as its type");
            None
        }
    }
}

/// An event as the log holds it. `data` is the stored object exactly (it is hashed); read
/// its fields through [`StoredEvent::payload`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredEvent {
    pub seq: i64,
    pub at: DateTime<FixedOffset>,
    #[serde(rename = "type")]
    pub kind: EventType,
    pub actor: Option<String>,
    pub station_id: String,
    pub order_no: Option<String>,
    pub data: Map<String, Value>,
    pub hash: String,
}

impl StoredEvent {
    /// The event's fields as its type's struct.
    pub fn try_payload(&self) -> Result<EventData, serde_json::Error> {
        EventData::decode(self.kind, &self.data)
    }

    /// The event's fields, or `None` (said in the log) for a stored object that does not
    /// read as its type: its fields are then ignored, as a missing field always was.
    pub fn payload(&self) -> Option<EventData> {
        match self.try_payload() {
            Ok(d) => Some(d),
            Err(err) => {
                tracing::warn!(seq = self.seq, kind = %self.kind, %err, "event data does not read as its type");
                None
            }
        }
    }

    /// The fields of an event known to be of type `P`; `None` for any other type.
    pub fn payload_as<P: Payload>(&self) -> Option<P> {
        payload_as(self.kind, &self.data, Some(self.seq))
    }

    /// The headless JSON line of this event: `event`, `at`, `order_no` where there is one,
    /// `seq`, and the event's own fields at the top level.
    pub fn to_line(&self) -> Value {
        let mut m = Map::new();
        m.insert("event".into(), self.kind.as_str().into());
        m.insert("at".into(), self.at.to_rfc3339().into());
        m.insert("seq".into(), self.seq.into());
        m.insert("station_id".into(), self.station_id.clone().into());
        if let Some(o) = &self.order_no {
            m.insert("order_no".into(), o.clone().into());
        }
        if let Some(a) = &self.actor {
            m.insert("actor".into(), a.clone().into());
        }
        for (k, v) in &self.data {
            m.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests;
