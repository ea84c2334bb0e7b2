-- Migration 6: benches waiting for a supervisor on the board, and errors counted per order
-- in the reports (issue 24).

-- A bench waits for a supervisor from a weighing that needs an approval (out of tolerance:
-- `weight_mismatch`; in tolerance while nobody can say who picked the order:
-- `picker_unknown`) until the order is packed, held or released, an override is recorded,
-- the order is no longer complete, a weighing passes, a packaging is set, another order is
-- loaded or the packer signs out. Kept here by the board trigger, so that the board still
-- reads one row per bench. The cause is a plain string, as in `override`.
ALTER TABLE bench_heads ADD COLUMN waiting_cause text, ADD COLUMN waiting_order text,
    ADD COLUMN waiting_since timestamptz;

-- What one event does to its bench's wait: the trigger and the backfill below both use it.
-- A weighing that fails again for the same order and cause keeps the wait's start.
CREATE FUNCTION pb_wait_step(p_station text, p_seq bigint, p_type text, p_order text, d jsonb,
                             p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $f$
DECLARE cause text;
BEGIN
    IF p_type = 'weight_checked' THEN
        IF (d->>'ok')::boolean IS FALSE THEN
            cause := 'weight_mismatch';
        -- A picker comes from the order import, the order as loaded, or a picker's badge.
        ELSIF NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_no = p_order AND o.picker_id IS NOT NULL)
          AND NOT EXISTS (SELECT 1 FROM events e
                           WHERE e.order_no = p_order AND e.station_id = p_station AND e.seq < p_seq
                             AND (e.type = 'picker_set'
                                  OR (e.type = 'order_loaded' AND e.data::jsonb->>'picker_id' IS NOT NULL))) THEN
            cause := 'picker_unknown';
        END IF;
    END IF;
    UPDATE bench_heads
       SET waiting_since = CASE WHEN cause IS NULL THEN NULL
                                WHEN waiting_cause = cause AND waiting_order IS NOT DISTINCT FROM p_order
                                THEN waiting_since ELSE p_at END,
           waiting_cause = cause,
           waiting_order = CASE WHEN cause IS NULL THEN NULL ELSE p_order END
     WHERE station_id = p_station AND (cause IS NOT NULL OR waiting_cause IS NOT NULL);
END $f$;

CREATE OR REPLACE FUNCTION pb_board_track() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE d jsonb := NEW.data::jsonb;
BEGIN
    IF NEW.type IN ('weight_checked', 'override', 'order_packed', 'order_held', 'order_released',
                    'item_accepted', 'scan_undone', 'order_loaded', 'packaging_set',
                    'packer_signed_out') THEN
        PERFORM pb_wait_step(NEW.station_id, NEW.seq, NEW.type, NEW.order_no, d, NEW.at_ts);
    END IF;
    -- A supervisor's release at the centre takes the order from its bench (a dead bench,
    -- mostly): the bench no longer waits for anyone over it.
    IF NEW.type = 'claim_released' AND NEW.station_id = 'central' THEN
        UPDATE bench_heads SET waiting_cause = NULL, waiting_order = NULL, waiting_since = NULL
         WHERE station_id = d->>'held_by' AND waiting_order = NEW.order_no;
    END IF;
    IF NEW.type = 'device' THEN
        INSERT INTO bench_devices AS b (station_id, device, state, detail, seq, at_ts)
        VALUES (NEW.station_id, coalesce(d->>'device', '?'), coalesce(d->>'state', '?'),
                coalesce(d->>'detail', ''), NEW.seq, NEW.at_ts)
        ON CONFLICT (station_id, device) DO UPDATE
            SET state = excluded.state, detail = excluded.detail, seq = excluded.seq, at_ts = excluded.at_ts
            WHERE b.seq < excluded.seq;
    ELSIF NEW.type = 'order_packed' THEN
        INSERT INTO bench_hours AS b (station_id, hour, orders, units)
        VALUES (NEW.station_id, date_trunc('hour', NEW.at_ts), 1, pb_order_units(NEW.order_no))
        ON CONFLICT (station_id, hour) DO UPDATE
            SET orders = b.orders + 1, units = b.units + excluded.units;
    ELSIF NEW.type IN ('packer_signed_in', 'packer_signed_out') THEN
        UPDATE bench_heads
           SET signed_in = CASE WHEN NEW.type = 'packer_signed_in' THEN NEW.actor END,
               signed_in_at = NEW.at_ts
         WHERE station_id = NEW.station_id;
    ELSIF NEW.type = 'scan_rejected' THEN
        UPDATE bench_heads SET last_refusal = jsonb_build_object(
                'seq', NEW.seq, 'at', NEW.at, 'reason', d->>'reason', 'code', d->>'code',
                'detail', d->>'detail')
         WHERE station_id = NEW.station_id;
    END IF;
    RETURN NULL;
END $f$;
DROP TRIGGER events_board ON events;
CREATE TRIGGER events_board AFTER INSERT ON events FOR EACH ROW
    WHEN (NEW.type IN ('device', 'scan_rejected', 'order_packed', 'packer_signed_in',
                       'packer_signed_out', 'weight_checked', 'override', 'order_held',
                       'order_released', 'item_accepted', 'scan_undone', 'order_loaded',
                       'packaging_set', 'claim_released'))
    EXECUTE FUNCTION pb_board_track();

-- What the log already holds: each bench's events since the last one that ends any wait
-- (a weighing may end one too, so weighings are replayed), in order.
DO $$
DECLARE e record;
BEGIN
    FOR e IN
        SELECT ev.station_id, ev.seq, ev.type, ev.order_no, ev.data::jsonb AS d, ev.at_ts
          FROM events ev
          LEFT JOIN (SELECT station_id, max(seq) AS seq FROM events
                      WHERE type IN ('override', 'order_packed', 'order_held', 'order_released',
                                     'item_accepted', 'scan_undone', 'order_loaded',
                                     'packaging_set', 'packer_signed_out')
                      GROUP BY station_id) cleared USING (station_id)
         WHERE ev.type = 'weight_checked' AND ev.seq > coalesce(cleared.seq, 0)
           AND ev.station_id <> 'central'
         ORDER BY ev.station_id, ev.seq
    LOOP
        PERFORM pb_wait_step(e.station_id, e.seq, e.type, e.order_no, e.d, e.at_ts);
    END LOOP;
END $$;
UPDATE bench_heads b SET waiting_cause = NULL, waiting_order = NULL, waiting_since = NULL
 WHERE EXISTS (SELECT 1 FROM events r
                WHERE r.station_id = 'central' AND r.type = 'claim_released'
                  AND r.order_no = b.waiting_order AND r.data::jsonb->>'held_by' = b.station_id
                  AND r.at_ts >= b.waiting_since);

-- Errors per order for the reports: an order counts once, however many wrong scans or failed
-- weighings it had, however many returns confirmed a packing error of it.
ALTER TABLE work_hours
    -- Orders packed in which a wrong, extra or unknown item was refused or a weighing failed.
    ADD COLUMN caught_orders bigint NOT NULL DEFAULT 0,
    -- Orders packed whose return confirmed a packing error (counted in the hour of packing,
    -- when the first such return is closed).
    ADD COLUMN packing_error_orders bigint NOT NULL DEFAULT 0;

DROP FUNCTION pb_work_of(text, text, text, text, jsonb, timestamptz);
CREATE FUNCTION pb_work_of(p_type text, p_station text, p_seq bigint, p_actor text, p_order text,
                           d jsonb, p_at timestamptz)
RETURNS TABLE (station_id text, who text, hour timestamptz, orders bigint, units bigint,
               wrong bigint, mismatches bigint, overrides bigint, reprints bigint,
               after_shipping bigint, caught_orders bigint, packing_error_orders bigint)
LANGUAGE sql STABLE AS $f$
    SELECT p_station, coalesce(d->>'packer_id', p_actor, ''), date_trunc('hour', p_at), 1::bigint,
           pb_order_units(p_order), 0::bigint, 0::bigint,
           (d->>'override_by' IS NOT NULL)::int::bigint, 0::bigint, 0::bigint,
           EXISTS (SELECT 1 FROM events e
                    WHERE e.order_no = p_order
                      AND ((e.type = 'scan_rejected'
                            AND e.data::jsonb->>'reason' IN ('not_in_order', 'over_quantity', 'unknown_barcode'))
                        OR (e.type = 'weight_checked' AND (e.data::jsonb->>'ok')::boolean IS FALSE)))::int::bigint,
           0::bigint
     WHERE p_type = 'order_packed'
    UNION ALL
    SELECT p_station, coalesce(p_actor, ''), date_trunc('hour', p_at), 0, 0,
           (p_type = 'scan_rejected')::int, (p_type = 'weight_checked')::int, 0,
           (p_type = 'reprint_requested')::int, 0, 0, 0
     WHERE (p_type = 'scan_rejected' AND d->>'reason' IN ('not_in_order', 'over_quantity', 'unknown_barcode'))
        OR (p_type = 'weight_checked' AND (d->>'ok')::boolean IS FALSE)
        OR p_type = 'reprint_requested'
    UNION ALL
    -- The return: counted in the hour it was closed (after_shipping, as before) and, for its
    -- order's first confirmed packing error, in the hour the order was packed, so that the
    -- orders with one are a part of the orders packed in any period.
    SELECT coalesce(p.station_id, p_station), coalesce(d->>'packer_id', p.who, ''), x.hour,
           0, 0, 0, 0, 0, 0, x.closed, 0, x.packed
      FROM (SELECT 1) one
      LEFT JOIN LATERAL (SELECT e.station_id, coalesce(e.data::jsonb->>'packer_id', e.actor) AS who,
                                e.at_ts
                           FROM events e
                          WHERE e.order_no = p_order AND e.type = 'order_packed'
                          ORDER BY e.at_ts DESC LIMIT 1) p ON true
      CROSS JOIN LATERAL (VALUES (date_trunc('hour', p_at), 1::bigint, 0::bigint),
                                 (date_trunc('hour', p.at_ts), 0::bigint, 1::bigint)) x (hour, closed, packed)
     WHERE p_type = 'return_closed' AND (d->>'confirmed')::boolean IS TRUE
       AND d->>'reason' IN ('wrong_item_sent', 'missing_item')
       AND (x.closed = 1
            OR (p.at_ts IS NOT NULL
                AND NOT EXISTS (SELECT 1 FROM events r
                                 WHERE r.order_no = p_order AND r.type = 'return_closed'
                                   AND (r.data::jsonb->>'confirmed')::boolean IS TRUE
                                   AND r.data::jsonb->>'reason' IN ('wrong_item_sent', 'missing_item')
                                   AND (r.at_ts, r.station_id, r.seq) < (p_at, p_station, p_seq))))
$f$;
CREATE OR REPLACE FUNCTION pb_work_track() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    -- Grouped: a return closed in the hour its order was packed gives two rows of one hour.
    INSERT INTO work_hours AS h
    SELECT w.station_id, w.who, w.hour, sum(w.orders), sum(w.units), sum(w.wrong),
           sum(w.mismatches), sum(w.overrides), sum(w.reprints), sum(w.after_shipping),
           sum(w.caught_orders), sum(w.packing_error_orders)
      FROM pb_work_of(NEW.type, NEW.station_id, NEW.seq, NEW.actor, NEW.order_no,
                      NEW.data::jsonb, NEW.at_ts) w
     GROUP BY 1, 2, 3
    ON CONFLICT (hour, station_id, who) DO UPDATE
        SET orders = h.orders + excluded.orders, units = h.units + excluded.units,
            wrong = h.wrong + excluded.wrong, mismatches = h.mismatches + excluded.mismatches,
            overrides = h.overrides + excluded.overrides, reprints = h.reprints + excluded.reprints,
            after_shipping = h.after_shipping + excluded.after_shipping,
            caught_orders = h.caught_orders + excluded.caught_orders,
            packing_error_orders = h.packing_error_orders + excluded.packing_error_orders;
    RETURN NULL;
END $f$;

-- What the log already holds: the two new counts of every hour (the others stay as they are).
INSERT INTO work_hours AS h (station_id, who, hour, caught_orders, packing_error_orders)
SELECT w.station_id, w.who, w.hour, sum(w.caught_orders), sum(w.packing_error_orders)
  FROM events e,
       LATERAL pb_work_of(e.type, e.station_id, e.seq, e.actor, e.order_no, e.data::jsonb, e.at_ts) w
 WHERE e.type IN ('order_packed', 'return_closed') AND e.station_id <> 'central'
 GROUP BY 1, 2, 3
ON CONFLICT (hour, station_id, who) DO UPDATE
    SET caught_orders = excluded.caught_orders, packing_error_orders = excluded.packing_error_orders;
