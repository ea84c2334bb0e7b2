//! Real bench events to replay: orders packed by the real `Bench` (a bench alone).

#[allow(unused_imports)]
use super::*;

/// `n` events of a bench packing generated orders, as the station library logs them, and
/// the orders.
pub(crate) fn template(n: usize) -> (Vec<StoredEvent>, Vec<GenOrder>) {
    let items = items();
    let orders = generate(n / 5 + 10, &mut Rng::new(99), &items);
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("orders.csv");
    write_orders_csv(&csv, &orders, &items);
    let mut store = SqliteStore::open_in_memory().unwrap();
    for (kind, file) in data_set(Some(&csv)) {
        packbench::import::import_file(
            &mut store,
            kind,
            &file,
            &Default::default(),
            "RIG",
            t0(),
            &mut |_| {},
        )
        .unwrap();
    }
    let mut b = LibBench {
        station: "TEMPLATE".into(),
        bench: Bench::open(store, engine_cfg("TEMPLATE")).unwrap(),
        sink: None,
        pending: Default::default(),
    };
    let mut t = Timings::default();
    b.sign_in(PACKER, &mut t);
    for o in &orders {
        if t.events >= n {
            break;
        }
        b.pack(&items, o, &mut t);
    }
    let ev: Vec<StoredEvent> = b
        .bench
        .store()
        .events(&Default::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.station_id == "TEMPLATE")
        .collect();
    assert!(ev.len() >= n.min(100), "template of {} events", ev.len());
    (ev, orders)
}

/// The orders a replay of `tpl` by `stations` in `cycles` names, as an orders CSV for the
/// centre (the same lines as the template's orders; waybill `ORDER-WB`).
pub(crate) fn write_replayed_orders(
    path: &Path,
    tpl: &[StoredEvent],
    orders: &[GenOrder],
    stations: &[String],
    cycles: usize,
) -> usize {
    let used: std::collections::HashSet<&str> =
        tpl.iter().filter_map(|e| e.order_no.as_deref()).collect();
    let items = items();
    let mut w = csv::Writer::from_path(path).unwrap();
    let mut header = packbench::import::ORDER_COLUMNS.to_vec();
    header.push("picker_id");
    w.write_record(&header).unwrap();
    let mut n = 0;
    for station in stations {
        for cycle in 0..cycles {
            for o in orders.iter().filter(|o| used.contains(o.order_no.as_str())) {
                let no = format!("{station}-{cycle}-{}", o.order_no);
                for &(it, q) in &o.lines {
                    w.write_record([
                        no.as_str(),
                        &format!("{no}-WB"),
                        "SF",
                        "测试 Test",
                        "CN",
                        "浙江省杭州市",
                        "",
                        &items[it].sku,
                        &q.to_string(),
                        PICKER_ID,
                    ])
                    .unwrap();
                }
                n += 1;
            }
        }
    }
    w.flush().unwrap();
    n
}

/// Event `i` of a bench `station` replaying `tpl`: the station's own order numbers
/// (`STATION-CYCLE-ORDER`, also inside the data), times spread from `from` by `step`.
pub(crate) fn replayed(
    tpl: &[StoredEvent],
    station: &str,
    i: usize,
    from: DateTime<FixedOffset>,
    step: Duration,
) -> NewEvent {
    let e = &tpl[i % tpl.len()];
    let cycle = i / tpl.len();
    let mut data = e.data.clone();
    let order_no = e.order_no.as_ref().map(|o| {
        let new = format!("{station}-{cycle}-{o}");
        let wb = format!("WB{}", &o[4..]);
        let text = serde_json::to_string(&data)
            .unwrap()
            .replace(o.as_str(), &new)
            .replace(&wb, &format!("{new}-WB"));
        data = serde_json::from_str(&text).unwrap();
        new
    });
    NewEvent {
        at: from + chrono::Duration::from_std(step * i as u32).unwrap(),
        kind: e.kind,
        actor: e.actor.clone(),
        station_id: station.to_string(),
        order_no,
        data,
    }
}

/// A bench file holding `n` events of backlog (appended by the SQLite store, 500 a commit).
pub(crate) fn backlog_db(path: &Path, tpl: &[StoredEvent], station: &str, n: usize) {
    let mut s = SqliteStore::open(path).unwrap();
    let from = now() - chrono::Duration::hours(1);
    let step = Duration::from_secs(3600) / n as u32;
    let mut i = 0;
    while i < n {
        let batch: Vec<NewEvent> = (i..(i + 500).min(n))
            .map(|j| replayed(tpl, station, j, from, step))
            .collect();
        s.append(&batch).unwrap();
        i += batch.len();
    }
}
