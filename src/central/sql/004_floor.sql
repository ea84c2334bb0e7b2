-- Migration 4: supervision at the scale of a big floor: the review queue, search and reports
-- without reading every event
-- A mismatch is one weight check in hundreds: the review queue (read every 2 s by each
-- console) finds them here instead of parsing every check of the week. The queue's query
-- repeats this predicate word for word so that the planner can use the index.
CREATE INDEX events_mismatch ON events (at_ts)
    WHERE type = 'weight_checked' AND (data::jsonb->>'ok') = 'false';
-- Search as you type by the start of an order number or waybill: byte-order indexes answer
-- LIKE 'prefix%' in order and stop at the limit, where the trigram index would first collect
-- every order sharing the prefix.
CREATE INDEX orders_no_prefix ON orders (order_no COLLATE "C");
CREATE INDEX orders_waybill_prefix ON orders (waybill_no COLLATE "C");

-- Reports per packer and per bench (`audit report`, the console's 8 weeks of error rates)
-- from counts kept per bench, person and clock hour as events arrive: a day of a big
-- floor is millions of events, its report a few thousand rows.
CREATE TABLE work_hours (
    station_id text NOT NULL,
    who text NOT NULL,
    hour timestamptz NOT NULL,
    orders bigint NOT NULL DEFAULT 0,
    units bigint NOT NULL DEFAULT 0,
    -- Wrong, extra and unknown items stopped at the bench.
    wrong bigint NOT NULL DEFAULT 0,
    mismatches bigint NOT NULL DEFAULT 0,
    overrides bigint NOT NULL DEFAULT 0,
    reprints bigint NOT NULL DEFAULT 0,
    -- Returns that confirmed a wrong or missing item: counted for whoever packed the order,
    -- at the bench that packed it, in the hour the return was closed.
    after_shipping bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (hour, station_id, who)
);
-- What one event adds, if anything: the trigger and the backfill below both use it.
CREATE FUNCTION pb_work_of(p_type text, p_station text, p_actor text, p_order text, d jsonb,
                           p_at timestamptz)
RETURNS TABLE (station_id text, who text, hour timestamptz, orders bigint, units bigint,
               wrong bigint, mismatches bigint, overrides bigint, reprints bigint,
               after_shipping bigint)
LANGUAGE sql STABLE AS $f$
    SELECT p_station, coalesce(d->>'packer_id', p_actor, ''), date_trunc('hour', p_at), 1::bigint,
           pb_order_units(p_order), 0::bigint, 0::bigint,
           (d->>'override_by' IS NOT NULL)::int::bigint, 0::bigint, 0::bigint
     WHERE p_type = 'order_packed'
    UNION ALL
    SELECT p_station, coalesce(p_actor, ''), date_trunc('hour', p_at), 0, 0,
           (p_type = 'scan_rejected')::int, (p_type = 'weight_checked')::int, 0,
           (p_type = 'reprint_requested')::int, 0
     WHERE (p_type = 'scan_rejected' AND d->>'reason' IN ('not_in_order', 'over_quantity', 'unknown_barcode'))
        OR (p_type = 'weight_checked' AND (d->>'ok')::boolean IS FALSE)
        OR p_type = 'reprint_requested'
    UNION ALL
    SELECT coalesce(p.station_id, p_station), coalesce(d->>'packer_id', p.who, ''),
           date_trunc('hour', p_at), 0, 0, 0, 0, 0, 0, 1
      FROM (SELECT 1) one
      LEFT JOIN LATERAL (SELECT e.station_id, coalesce(e.data::jsonb->>'packer_id', e.actor) AS who
                           FROM events e
                          WHERE e.order_no = p_order AND e.type = 'order_packed'
                          ORDER BY e.at_ts DESC LIMIT 1) p ON true
     WHERE p_type = 'return_closed' AND (d->>'confirmed')::boolean IS TRUE
       AND d->>'reason' IN ('wrong_item_sent', 'missing_item')
$f$;
CREATE FUNCTION pb_work_track() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    INSERT INTO work_hours AS h
    SELECT * FROM pb_work_of(NEW.type, NEW.station_id, NEW.actor, NEW.order_no,
                             NEW.data::jsonb, NEW.at_ts)
    ON CONFLICT (hour, station_id, who) DO UPDATE
        SET orders = h.orders + excluded.orders, units = h.units + excluded.units,
            wrong = h.wrong + excluded.wrong, mismatches = h.mismatches + excluded.mismatches,
            overrides = h.overrides + excluded.overrides, reprints = h.reprints + excluded.reprints,
            after_shipping = h.after_shipping + excluded.after_shipping;
    RETURN NULL;
END $f$;
CREATE TRIGGER events_work AFTER INSERT ON events FOR EACH ROW
    WHEN (NEW.type IN ('order_packed', 'scan_rejected', 'weight_checked', 'reprint_requested',
                       'return_closed') AND NEW.station_id <> 'central')
    EXECUTE FUNCTION pb_work_track();
-- A returns desk checks a parcel against how it left, whichever bench packed it: a bench
-- may read the events of a packed order (never of one still being packed).
CREATE FUNCTION pb_packed_history(p_station text, p_order text)
RETURNS TABLE (station_id text, seq bigint, at text, type text, actor text, order_no text, data text,
               hash text, claim_epoch bigint, flagged boolean, received_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, packbench, pg_temp AS $f$
BEGIN
    PERFORM pb_check_station(p_station);
    IF NOT EXISTS (SELECT 1 FROM claims c WHERE c.order_no = p_order AND c.packed) THEN
        RETURN;
    END IF;
    RETURN QUERY SELECT e.station_id, e.seq, e.at, e.type, e.actor, e.order_no, e.data, e.hash,
                        e.claim_epoch, e.flagged, e.received_at
                   FROM events e WHERE e.order_no = p_order AND e.station_id <> p_station
                  ORDER BY e.at_ts, e.station_id, e.seq;
END $f$;

-- What the log already holds.
INSERT INTO work_hours
SELECT w.station_id, w.who, w.hour, sum(w.orders), sum(w.units), sum(w.wrong),
       sum(w.mismatches), sum(w.overrides), sum(w.reprints), sum(w.after_shipping)
  FROM events e,
       LATERAL pb_work_of(e.type, e.station_id, e.actor, e.order_no, e.data::jsonb, e.at_ts) w
 WHERE e.type IN ('order_packed', 'scan_rejected', 'weight_checked', 'reprint_requested',
                  'return_closed') AND e.station_id <> 'central'
 GROUP BY 1, 2, 3;
