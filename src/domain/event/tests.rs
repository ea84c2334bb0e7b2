use super::*;
use serde_json::json;

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[test]
fn device_words_read_back_and_unknown_ones_stay_unknown() {
    for k in DeviceKind::ALL {
        assert_eq!(DeviceKind::parse(k.as_str()), Some(k));
    }
    for st in DeviceStatus::ALL {
        assert_eq!(DeviceStatus::parse(st.as_str()), Some(st));
        // The log's word is the serde name.
        assert_eq!(serde_json::to_value(st).unwrap(), st.as_str());
    }
    assert_eq!(DeviceKind::parse("central"), None);
    assert_eq!(DeviceStatus::parse("unknown"), None);
    let lost: Vec<_> = DeviceStatus::ALL
        .into_iter()
        .filter(|s| s.is_lost())
        .collect();
    assert_eq!(lost, [DeviceStatus::Disconnected, DeviceStatus::Error]);
}

#[test]
fn optional_parts_are_absent_or_null_as_the_log_has_them() {
    let e = ItemAccepted {
        sku: "T-BLU-L".into(),
        units: 1,
        scanned: 1,
        qty: 1,
        code: "6975432100137".into(),
        aim: None,
        gs1: None,
        scanner: None,
        version: "v".into(),
        alloc: vec![(0, 1)],
        complete: false,
    };
    let m = EventData::from(e.clone()).to_map();
    assert_eq!(m["aim"], Value::Null);
    assert!(!m.contains_key("gtin"), "no GS1 data, no GS1 keys");
    assert_eq!(m["alloc"], json!([[0, 1]]));
    assert!(m["units"].is_u64());
    let back = EventData::decode(EventType::ItemAccepted, &m).unwrap();
    assert_eq!(back, EventData::ItemAccepted(e));

    let r = ScanRejected::new("X", RejectReason::UnknownBarcode, "d".into());
    assert_eq!(
        EventData::from(r).to_map(),
        map(json!({"code": "X", "reason": "unknown_barcode", "detail": "d"}))
    );
}

#[test]
fn grams_stay_floats_and_counts_integers() {
    let m = EventData::from(PackagingSet {
        packaging: "PKG-BAG-M".into(),
        tare_g: 18.0,
    })
    .to_map();
    assert_eq!(
        serde_json::to_string(&m).unwrap(),
        r#"{"packaging":"PKG-BAG-M","tare_g":18.0}"#
    );
    let m = EventData::from(OrderReleased {}).to_map();
    assert_eq!(serde_json::to_string(&m).unwrap(), "{}");
}

/// `approval_lapsed` as the log stores it: the names the README gives, and it reads back.
#[test]
fn approval_lapsed_stores_its_cause_and_reads_back() {
    let e = ApprovalLapsed {
        supervisor_id: "E005".into(),
        cause: LapseCause::MeasurementChanged,
        approves: OverrideReason::WeightMismatch,
        measured_g: 225.0,
        expected_g: 265.0,
        pin_given: true,
        waited_s: 12,
    };
    let m = EventData::from(e.clone()).to_map();
    assert_eq!(
        serde_json::to_string(&m).unwrap(),
        r#"{"approves":"weight_mismatch","cause":"measurement_changed","expected_g":265.0,"measured_g":225.0,"pin_given":true,"supervisor_id":"E005","waited_s":12}"#
    );
    assert_eq!(
        EventData::decode(EventType::ApprovalLapsed, &m).unwrap(),
        EventData::ApprovalLapsed(e)
    );
    for c in [
        LapseCause::Timeout,
        LapseCause::OtherInput,
        LapseCause::MeasurementChanged,
    ] {
        assert_eq!(serde_json::to_value(c).unwrap(), json!(c.as_str()));
    }
}

/// The claim events as the bench wrote them field by field before they were typed.
#[test]
fn claims_store_what_they_always_stored() {
    let at = DateTime::parse_from_rfc3339("2026-11-22T10:00:00+08:00").unwrap();
    for epoch in [Some(7_i64), None] {
        let mut old = NewEvent::new(EventType::OrderClaimed, at, "B").with("claim_epoch", epoch);
        if epoch.is_none() {
            old = old.with("offline", true);
        }
        let new = NewEvent::of(
            OrderClaimed {
                claim_epoch: epoch,
                offline: epoch.is_none(),
            },
            at,
            "B",
        );
        assert_eq!(new, old);
    }
    for packer in [Some("E003".to_string()), None] {
        let old = NewEvent::new(EventType::ScanRejected, at, "B")
            .with("code", "TB1")
            .with("reason", "order_claimed_elsewhere")
            .with("detail", "d")
            .with("held_by", "B2")
            .with("held_by_packer", packer.clone())
            .with("since", "t");
        let mut r = ScanRejected::new("TB1", RejectReason::OrderClaimedElsewhere, "d".into());
        r.holder = Some(ClaimHolder {
            held_by: "B2".into(),
            held_by_packer: packer,
            since: "t".into(),
        });
        let new = NewEvent::of(r.clone(), at, "B");
        assert_eq!(new, old);
        let back = EventData::decode(EventType::ScanRejected, &new.data).unwrap();
        assert_eq!(back, EventData::ScanRejected(r));
    }
    let plain = ScanRejected::new("X", RejectReason::CentralUnreachable, "d".into());
    let m = EventData::from(plain.clone()).to_map();
    assert_eq!(
        EventData::decode(EventType::ScanRejected, &m).unwrap(),
        EventData::ScanRejected(plain),
        "no holder reads back as none"
    );
}

/// An override of a log written before reasons were asked for reads with its cause and
/// no reason; a new one stores both.
#[test]
fn overrides_old_and_new_read_back() {
    let old = map(
        json!({"expected_g": 125.0, "measured_g": 60.0, "picker_id": "E007",
        "reason": "weight_mismatch", "supervisor_id": "E005", "tolerance_g": 15.0}),
    );
    let EventData::Override(o) = EventData::decode(EventType::Override, &old).unwrap() else {
        unreachable!()
    };
    assert_eq!(o.reason, ApprovalReason::NotGiven);
    assert_eq!(o.cause, OverrideReason::WeightMismatch);
    let new = EventData::from(Override {
        reason: ApprovalReason::CatalogWeightWrong,
        ..o
    })
    .to_map();
    assert_eq!(new["reason"], json!("catalog_weight_wrong"));
    assert_eq!(new["cause"], json!("weight_mismatch"));
    let mut bad = new.clone();
    bad.insert("reason".into(), json!("because"));
    assert!(EventData::decode(EventType::Override, &bad).is_err());
}

#[test]
fn reject_reasons_are_their_contract_names() {
    for r in [
        RejectReason::NoPacker,
        RejectReason::OrderAlreadyPacked,
        RejectReason::NotRecorded,
    ] {
        assert_eq!(serde_json::to_value(r).unwrap(), json!(r.as_str()));
    }
}

#[test]
fn a_stored_object_of_the_wrong_shape_reads_as_nothing() {
    let e = StoredEvent {
        seq: 1,
        at: DateTime::parse_from_rfc3339("2026-11-22T10:00:00+08:00").unwrap(),
        kind: EventType::PickerSet,
        actor: None,
        station_id: "B".into(),
        order_no: None,
        data: map(json!({"picker_id": 7})),
        hash: String::new(),
    };
    assert!(e.payload().is_none());
    assert!(e.payload_as::<PackerSignedIn>().is_none());
}
