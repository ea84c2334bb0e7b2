-- Migration 3: supervision (board, review queue, search)
-- Search as you type on fragments of order numbers, waybills, recipients, SKUs and names.
-- pg_trgm (a trusted extension) is created by `central init` before the migrations: see
-- privileges.rs.
-- One index per table over the searched columns together (pb_order_text): every index
-- here slows central imports, and one GIN index answers a fragment of any of them.
CREATE FUNCTION pb_order_text(o_no text, waybill text, recipient text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT o_no || ' ' || waybill || ' ' || recipient $f$;
CREATE FUNCTION pb_sku_text(sku text, name text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT sku || ' ' || name $f$;
CREATE INDEX orders_search ON orders USING gin (pb_order_text(order_no, waybill_no, recipient) gin_trgm_ops);
CREATE INDEX skus_search ON skus USING gin (pb_sku_text(sku, name) gin_trgm_ops);

-- The board reads each bench's devices and last refusal from here, kept as events arrive,
-- so that it costs one row per bench whatever the size of the log.
CREATE TABLE bench_devices (
    station_id text NOT NULL,
    device text NOT NULL,
    state text NOT NULL,
    detail text NOT NULL,
    seq bigint NOT NULL,
    at_ts timestamptz NOT NULL,
    PRIMARY KEY (station_id, device)
);
-- Orders and units packed per bench per clock hour: today's counts and the hourly chart
-- without reading the log.
CREATE TABLE bench_hours (
    station_id text NOT NULL,
    hour timestamptz NOT NULL,
    orders bigint NOT NULL DEFAULT 0,
    units bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (station_id, hour)
);
CREATE FUNCTION pb_order_units(p_order text) RETURNS bigint LANGUAGE sql STABLE AS $f$
    SELECT coalesce(sum((l->>'qty')::bigint), 0)::bigint
      FROM orders o, jsonb_array_elements(o.lines::jsonb) l WHERE o.order_no = p_order
$f$;

-- Who is signed in, from the sign-in events (the heartbeat says it too, less often).
ALTER TABLE bench_heads ADD COLUMN last_refusal jsonb, ADD COLUMN signed_in text,
    ADD COLUMN signed_in_at timestamptz;

CREATE FUNCTION pb_board_track() RETURNS trigger LANGUAGE plpgsql AS $f$
DECLARE d jsonb := NEW.data::jsonb;
BEGIN
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
    ELSE
        UPDATE bench_heads SET last_refusal = jsonb_build_object(
                'seq', NEW.seq, 'at', NEW.at, 'reason', d->>'reason', 'code', d->>'code',
                'detail', d->>'detail')
         WHERE station_id = NEW.station_id;
    END IF;
    RETURN NULL;
END $f$;
CREATE TRIGGER events_board AFTER INSERT ON events FOR EACH ROW
    WHEN (NEW.type IN ('device', 'scan_rejected', 'order_packed', 'packer_signed_in',
                       'packer_signed_out'))
    EXECUTE FUNCTION pb_board_track();

-- What the log already holds.
INSERT INTO bench_devices (station_id, device, state, detail, seq, at_ts)
SELECT DISTINCT ON (station_id, data::jsonb->>'device') station_id, coalesce(data::jsonb->>'device', '?'),
       coalesce(data::jsonb->>'state', '?'), coalesce(data::jsonb->>'detail', ''), seq, at_ts
  FROM events WHERE type = 'device'
 ORDER BY station_id, data::jsonb->>'device', seq DESC;
UPDATE bench_heads b SET last_refusal = r.j
  FROM (SELECT DISTINCT ON (station_id) station_id,
               jsonb_build_object('seq', seq, 'at', at, 'reason', data::jsonb->>'reason',
                                  'code', data::jsonb->>'code', 'detail', data::jsonb->>'detail') j
          FROM events WHERE type = 'scan_rejected' ORDER BY station_id, seq DESC) r
 WHERE r.station_id = b.station_id;
INSERT INTO bench_hours (station_id, hour, orders, units)
SELECT station_id, date_trunc('hour', at_ts), count(*), sum(pb_order_units(order_no))
  FROM events WHERE type = 'order_packed' GROUP BY 1, 2;
UPDATE bench_heads b SET signed_in = r.who, signed_in_at = r.at_ts
  FROM (SELECT DISTINCT ON (station_id) station_id, at_ts,
               CASE WHEN type = 'packer_signed_in' THEN actor END AS who
          FROM events WHERE type IN ('packer_signed_in', 'packer_signed_out')
         ORDER BY station_id, seq DESC) r
 WHERE r.station_id = b.station_id;

