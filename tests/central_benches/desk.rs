//! Returns checked against another bench's pack record, and PINs checked by the centre.

use super::*;

/// A returns desk is usually not the bench that packed the parcel: with a centre, the return
/// opens against the pack record another bench shipped there, and counts against it.
#[test]
fn a_return_at_another_bench_is_checked_against_the_centres_pack_record() {
    let floor = Floor::new();
    let rig_a = floor.bench("BENCH-PACK", 61, "finish");
    let rig_b = floor.bench("BENCH-RET", 61, "finish");
    floor.import(&rig_a.orders_csv());
    let o = rig_a
        .orders
        .iter()
        .find(|o| o.lines.iter().any(|l| l.1 >= 2))
        .expect("an order with two units of one line")
        .clone();
    let mut a = rig_a.spawn(bin());
    let mut b = rig_b.spawn(bin());
    copied(&rig_a, &o.order_no);
    copied(&rig_b, &o.order_no);
    sign_in(&mut a, PACKER);
    sign_in(&mut b, "BADGE-E004");
    // Before it is packed anywhere, the returns desk refuses it.
    b.scan("PB-RETURNS");
    b.until(WAIT, |v| v["event"] == "returns_started")
        .unwrap_or_else(|| panic!("no returns mode; seen {:#?}", b.seen));
    b.scan(&o.order_no);
    let early = b
        .until(WAIT, |v| {
            v["event"] == "scan_rejected" || v["event"] == "return_opened"
        })
        .unwrap()
        .1;
    assert_eq!(early["reason"], "not_shipped", "{early}");

    pack(&rig_a, &mut a, &o, WAIT);
    floor.drained("BENCH-PACK", &rig_a);
    // By its waybill, as the parcel comes back.
    let waybill = format!("WB{}", &o.order_no[4..]);
    b.scan(&waybill);
    let opened = b
        .until(WAIT, |v| {
            (v["event"] == "scan_rejected" && v["reason"] == "not_shipped")
                || v["event"] == "return_opened"
        })
        .unwrap()
        .1;
    assert_eq!(opened["event"], "return_opened", "{opened}");
    assert_eq!(opened["packed_station"], "BENCH-PACK", "{opened}");
    assert_eq!(opened["packer_id"], "E003", "{opened}");
    // Every unit that was packed may come back, and not one more, across a restart of the
    // returns bench in the middle of the return.
    let (item, qty) = *o.lines.iter().find(|l| l.1 >= 2).unwrap();
    let code = rig_a.items[item].barcode.clone();
    for i in 0..qty {
        if i == 1 {
            b.term();
            b = rig_b.spawn(bin());
        }
        b.scan(&code);
        let got = b
            .until(WAIT, |v| {
                v["event"] == "return_item" || v["event"] == "scan_rejected"
            })
            .unwrap_or_else(|| panic!("no answer; seen {:#?}", b.seen))
            .1;
        assert_eq!(got["event"], "return_item", "unit {}: {got}", i + 1);
    }
    b.scan(&code);
    let over = b.until(WAIT, |v| v["event"] == "scan_rejected").unwrap().1;
    assert_eq!(over["reason"], "over_quantity", "{over}");
    b.scan("PB-RET-REASON-CHANGED_MIND");
    b.scan("PB-RETURN-CLOSE");
    b.until(WAIT, |v| v["event"] == "return_closed")
        .unwrap_or_else(|| panic!("not closed; seen {:#?}", b.seen));
    floor.drained("BENCH-RET", &rig_b);
    // Another parcel of that order at the bench that packed it: the units already checked
    // in at the returns bench count (its log alone does not know them).
    a.scan("PB-RETURNS");
    a.until(WAIT, |v| v["event"] == "returns_started").unwrap();
    a.scan(&o.order_no);
    let again = a.until(WAIT, |v| v["event"] == "return_opened").unwrap().1;
    assert_eq!(again["return_id"], format!("{}-R2", o.order_no), "{again}");
    a.scan(&code);
    let over = a
        .until(WAIT, |v| {
            v["event"] == "return_item" || v["event"] == "scan_rejected"
        })
        .unwrap()
        .1;
    assert_eq!(over["reason"], "over_quantity", "{over}");
    a.term();
    b.term();
}

#[test]
fn a_benchs_pins_are_checked_by_the_centre_and_offline_by_the_copy_it_kept() {
    let cluster = pg::Cluster::start(pg::Options::default());
    let floor = Floor::on(&cluster);
    let proxy = floor.rt.block_on(pg::Proxy::start(cluster.socket_path()));
    let rig_a = floor.bench_via("BENCH-PA", 81, "finish", Some(&proxy));
    let rig_b = floor.bench("BENCH-PB", 81, "finish");
    floor.import(&rig_a.orders_csv());
    let o = rig_a.orders.clone();
    let mut a = rig_a.spawn(bin());
    let mut b = rig_b.spawn(bin());
    copied(&rig_a, &o[0].order_no);
    copied(&rig_b, &o[0].order_no);
    sign_in(&mut a, PACKER);
    sign_in(&mut b, "BADGE-E004");
    link(&mut a, "connected", 0);
    let centre = |sql: &str| -> i64 {
        floor.rt.block_on(async {
            pg::connect(&floor.db.url)
                .await
                .query_one(sql, &[])
                .await
                .unwrap()
                .get(0)
        })
    };
    let failures = "SELECT coalesce((SELECT failures::bigint FROM pin_failures WHERE employee_id = 'E005'), 0)";
    // No bench holds E005's PIN hash: the centre never sends it.
    let copy_of = |rig: &Rig| -> Option<String> {
        SqliteStore::open(rig.db())
            .unwrap()
            .employee("E005")
            .unwrap()
            .and_then(|e| e.pin_hash.map(|h| h.as_str().to_string()))
    };
    assert_eq!(copy_of(&rig_a), None);

    // Two wrong PINs at A and three at B: counted by the centre, the fifth locks the badge.
    up_to_the_pin(&rig_a, &mut a, &o[0]);
    for n in 1..=2 {
        assert_eq!(typed(&mut a, "000000")["event"], "pin_failed");
        assert_eq!(centre(failures), n);
    }
    up_to_the_pin(&rig_b, &mut b, &o[1]);
    for _ in 0..3 {
        assert_eq!(typed(&mut b, "000000")["event"], "pin_failed");
    }
    assert_eq!(
        centre(
            "SELECT count(*) FROM pin_failures WHERE employee_id = 'E005' AND locked_until > now()"
        ),
        1
    );
    assert_eq!(
        centre("SELECT count(*) FROM alarms WHERE kind = 'badge_locked'"),
        1
    );
    // B heard the lock from the centre: the badge is refused there now, as after five
    // wrong PINs at B alone.
    b.scan("BADGE-E005");
    let refused = b
        .until(WAIT, |v| v["event"] == "scan_rejected")
        .unwrap_or_else(|| panic!("badge not refused; seen {:#?}", b.seen))
        .1;
    assert_eq!(refused["reason"], "badge_locked", "{refused}");
    // Locked at the centre: the right PIN at A does not pass either.
    assert_eq!(typed(&mut a, SUPERVISOR_PIN)["event"], "pin_failed");
    assert_eq!(copy_of(&rig_a), None);

    // The lock over, the right PIN at A approves, and A keeps its hash for offline.
    floor.rt.block_on(pg::exec(
        &floor.db.url,
        "UPDATE pin_failures SET locked_until = now() - interval '1 second'",
    ));
    assert_eq!(typed(&mut a, SUPERVISOR_PIN)["event"], "reason_required");
    a.scan("PB-REASON-SCALE_DRIFT");
    a.until(WAIT, |v| v["event"] == "order_packed")
        .unwrap_or_else(|| panic!("no override; seen {:#?}", a.seen));
    rig_a.place(0.0);
    let kept = copy_of(&rig_a).expect("A keeps the hash of the PIN the centre accepted");
    assert!(
        kept.starts_with("$argon2id$v=19$m=65536,t=3,p=1$"),
        "{kept}"
    );
    assert_eq!(centre(failures), 0, "the right PIN clears the count");

    // The centre out of reach (A was holding o[2]'s claim before): A's copy decides.
    let loaded = open(&mut a, &o[2].order_no, WAIT);
    assert_eq!(loaded["event"], "order_loaded", "{loaded}");
    proxy.stall();
    scan_rest(&rig_a, &mut a, &loaded, WAIT);
    rig_a.place(o[2].expected_g + 500.0);
    let check = a.until(WAIT, |v| v["event"] == "weight_checked").unwrap().1;
    assert_eq!(check["ok"], false, "{check}");
    // E006's PIN was never accepted here: offline it cannot be checked, and that is said as
    // such (not counted as a wrong PIN).
    a.scan("BADGE-E006");
    a.until(WAIT, |v| v["event"] == "pin_required").unwrap();
    a.scan("@pin 666666");
    let refused = a
        .until(WAIT, |v| {
            v["event"] == "scan_rejected"
                || v["event"] == "pin_failed"
                || v["event"] == "reason_required"
        })
        .unwrap()
        .1;
    assert_eq!(refused["reason"], "central_unreachable", "{refused}");
    assert_eq!(refused["employee_id"], "E006", "{refused}");
    a.scan("BADGE-E005");
    a.until(WAIT, |v| v["event"] == "pin_required").unwrap();
    assert_eq!(typed(&mut a, "000000")["event"], "pin_failed");
    assert_eq!(typed(&mut a, SUPERVISOR_PIN)["event"], "reason_required");
    a.scan("PB-REASON-SCALE_DRIFT");
    a.until(WAIT, |v| v["event"] == "order_packed")
        .unwrap_or_else(|| panic!("no override offline; seen {:#?}", a.seen));
    proxy.heal();
    floor.drained("BENCH-PA", &rig_a);
}
