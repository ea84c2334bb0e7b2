//! Station events: the one vocabulary shared by the log, the headless JSON lines and audit.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

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
    OrderClaimed => "order_claimed",
    ClaimReleased => "claim_released",
    ClaimConflict => "claim_conflict",
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An event decided but not yet stored. `data` is a JSON object of the type's own fields.
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

    pub fn str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }
}

/// An event as the log holds it.
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
    pub fn str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }

    pub fn f64(&self, key: &str) -> Option<f64> {
        self.data.get(key).and_then(Value::as_f64)
    }

    pub fn u64(&self, key: &str) -> Option<u64> {
        self.data.get(key).and_then(Value::as_u64)
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        self.data.get(key).and_then(Value::as_bool)
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
