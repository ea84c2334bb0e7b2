-- Migration 1: base schema
-- Master data: the columns of the bench's SQLite tables, plus change_id for the benches'
-- catch-up ("every row changed after N").
CREATE SEQUENCE master_change_seq;

CREATE TABLE skus (
    sku text PRIMARY KEY,
    name text NOT NULL,
    barcodes text NOT NULL,
    unit_weight_g double precision NOT NULL,
    weight_tolerance_g double precision,
    attributes text NOT NULL,
    change_id bigint NOT NULL
);
CREATE INDEX skus_change ON skus (change_id);

CREATE TABLE orders (
    order_no text PRIMARY KEY,
    waybill_no text NOT NULL,
    carrier text NOT NULL,
    recipient text NOT NULL,
    country text NOT NULL,
    address text NOT NULL,
    buyer_note text NOT NULL,
    lines text NOT NULL,
    picker_id text,
    cancelled boolean NOT NULL DEFAULT false,
    version text NOT NULL,
    change_id bigint NOT NULL
);
CREATE INDEX orders_waybill ON orders (waybill_no);
CREATE INDEX orders_change ON orders (change_id);

CREATE TABLE employees (
    id text PRIMARY KEY,
    name text NOT NULL,
    roles text NOT NULL,
    badge text NOT NULL UNIQUE,
    change_id bigint NOT NULL
);
CREATE INDEX employees_change ON employees (change_id);

CREATE TABLE packaging (
    code text PRIMARY KEY,
    name text NOT NULL,
    tare_g double precision NOT NULL,
    change_id bigint NOT NULL
);
CREATE INDEX packaging_change ON packaging (change_id);

-- Every writer of master data takes one transaction-level lock before its first row, so a
-- transaction's change ids are all above those of every transaction committed before it:
-- a bench that has seen change N has seen every change up to N.
CREATE FUNCTION pb_master_lock() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM pg_advisory_xact_lock(8061907160153960471);
    RETURN NULL;
END $f$;

CREATE FUNCTION pb_master_stamp() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    NEW.change_id := nextval('master_change_seq');
    RETURN NEW;
END $f$;

CREATE FUNCTION pb_master_head() RETURNS bigint LANGUAGE sql STABLE AS $f$
    SELECT greatest(
        coalesce((SELECT max(change_id) FROM skus), 0),
        coalesce((SELECT max(change_id) FROM orders), 0),
        coalesce((SELECT max(change_id) FROM employees), 0),
        coalesce((SELECT max(change_id) FROM packaging), 0))
$f$;

CREATE FUNCTION pb_master_notify() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM pg_notify('packbench_master', pb_master_head()::text);
    RETURN NULL;
END $f$;

-- Benches keep copies: a row deleted here would live on at every bench.
CREATE FUNCTION pb_master_no_delete() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    RAISE EXCEPTION 'master data is never deleted centrally (every bench keeps a copy): % on % refused', TG_OP, TG_TABLE_NAME
        USING HINT = 'cancel orders by importing them with status cancelled';
END $f$;

CREATE TRIGGER skus_lock BEFORE INSERT OR UPDATE ON skus FOR EACH STATEMENT EXECUTE FUNCTION pb_master_lock();
CREATE TRIGGER skus_stamp BEFORE INSERT OR UPDATE ON skus FOR EACH ROW EXECUTE FUNCTION pb_master_stamp();
CREATE TRIGGER skus_notify AFTER INSERT OR UPDATE ON skus FOR EACH STATEMENT EXECUTE FUNCTION pb_master_notify();
CREATE TRIGGER skus_no_delete BEFORE DELETE OR TRUNCATE ON skus FOR EACH STATEMENT EXECUTE FUNCTION pb_master_no_delete();
CREATE TRIGGER orders_lock BEFORE INSERT OR UPDATE ON orders FOR EACH STATEMENT EXECUTE FUNCTION pb_master_lock();
CREATE TRIGGER orders_stamp BEFORE INSERT OR UPDATE ON orders FOR EACH ROW EXECUTE FUNCTION pb_master_stamp();
CREATE TRIGGER orders_notify AFTER INSERT OR UPDATE ON orders FOR EACH STATEMENT EXECUTE FUNCTION pb_master_notify();
CREATE TRIGGER orders_no_delete BEFORE DELETE OR TRUNCATE ON orders FOR EACH STATEMENT EXECUTE FUNCTION pb_master_no_delete();
CREATE TRIGGER employees_lock BEFORE INSERT OR UPDATE ON employees FOR EACH STATEMENT EXECUTE FUNCTION pb_master_lock();
CREATE TRIGGER employees_stamp BEFORE INSERT OR UPDATE ON employees FOR EACH ROW EXECUTE FUNCTION pb_master_stamp();
CREATE TRIGGER employees_notify AFTER INSERT OR UPDATE ON employees FOR EACH STATEMENT EXECUTE FUNCTION pb_master_notify();
CREATE TRIGGER employees_no_delete BEFORE DELETE OR TRUNCATE ON employees FOR EACH STATEMENT EXECUTE FUNCTION pb_master_no_delete();
CREATE TRIGGER packaging_lock BEFORE INSERT OR UPDATE ON packaging FOR EACH STATEMENT EXECUTE FUNCTION pb_master_lock();
CREATE TRIGGER packaging_stamp BEFORE INSERT OR UPDATE ON packaging FOR EACH ROW EXECUTE FUNCTION pb_master_stamp();
CREATE TRIGGER packaging_notify AFTER INSERT OR UPDATE ON packaging FOR EACH STATEMENT EXECUTE FUNCTION pb_master_notify();
CREATE TRIGGER packaging_no_delete BEFORE DELETE OR TRUNCATE ON packaging FOR EACH STATEMENT EXECUTE FUNCTION pb_master_no_delete();

-- The central event log: every bench's chain as received. `at` and `data` are the exact
-- texts the bench hashed; at_ts is `at` as an instant for queries.
CREATE TABLE events (
    station_id text NOT NULL,
    seq bigint NOT NULL CHECK (seq > 0),
    at text NOT NULL,
    at_ts timestamptz NOT NULL,
    type text NOT NULL,
    actor text,
    order_no text,
    data text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL,
    claim_epoch bigint,
    -- the event's claim was not (or no longer) the bench's when it arrived: see alarms
    flagged boolean NOT NULL DEFAULT false,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station_id, seq)
);
CREATE INDEX events_order ON events (order_no, at_ts) WHERE order_no IS NOT NULL;
CREATE INDEX events_at ON events (at_ts);
CREATE INDEX events_type ON events (type, at_ts);

CREATE FUNCTION pb_append_only() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN
    RAISE EXCEPTION 'the central % is append-only: % refused', TG_TABLE_NAME, TG_OP;
END $f$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events FOR EACH ROW EXECUTE FUNCTION pb_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION pb_append_only();

-- Which database role is which bench.
CREATE TABLE bench_roles (
    role_name text PRIMARY KEY,
    station_id text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Each bench's head as received, and what it last reported.
CREATE TABLE bench_heads (
    station_id text PRIMARY KEY,
    seq bigint NOT NULL DEFAULT 0,
    hash text NOT NULL DEFAULT repeat('0', 64),
    last_seen timestamptz,
    packer_id text,
    held_order text,
    backlog bigint,
    reported_at timestamptz
);

-- The current claim of each order (one row per order ever claimed or packed).
CREATE TABLE claims (
    order_no text PRIMARY KEY,
    station_id text,
    packer_id text,
    claim_epoch bigint NOT NULL DEFAULT 0,
    since timestamptz,
    lease_until timestamptz,
    released boolean NOT NULL DEFAULT true,
    released_at timestamptz,
    released_by text,
    release_reason text,
    packed boolean NOT NULL DEFAULT false,
    packed_by text,
    packed_at timestamptz
);
CREATE INDEX claims_held ON claims (station_id) WHERE NOT released;

-- Every claim ever granted and how it ended: an arriving event's epoch is judged by it.
CREATE TABLE claim_grants (
    order_no text NOT NULL,
    claim_epoch bigint NOT NULL,
    station_id text NOT NULL,
    packer_id text,
    granted_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    ended_by text,
    -- holder | supervisor | expired | renewed | packed
    end_kind text,
    reason text,
    PRIMARY KEY (order_no, claim_epoch)
);

-- Checkpoints over all bench heads, chained.
CREATE TABLE checkpoints (
    id bigint PRIMARY KEY,
    created_at text NOT NULL,
    heads jsonb NOT NULL,
    root text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL
);
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE OR DELETE ON checkpoints FOR EACH ROW EXECUTE FUNCTION pb_append_only();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints FOR EACH STATEMENT EXECUTE FUNCTION pb_append_only();

-- What a supervisor must look at. A recurring alarm (a bench retrying a forked batch) bumps
-- `count` instead of adding rows.
CREATE TABLE alarms (
    id bigserial PRIMARY KEY,
    -- fork | bad_chain | bad_hash | gap | bad_event | claim_conflict
    kind text NOT NULL,
    station_id text,
    seq bigint,
    order_no text,
    message text NOT NULL,
    detail jsonb NOT NULL DEFAULT '{}',
    dedupe_key text NOT NULL UNIQUE,
    first_at timestamptz NOT NULL DEFAULT now(),
    last_at timestamptz NOT NULL DEFAULT now(),
    count integer NOT NULL DEFAULT 1,
    acknowledged boolean NOT NULL DEFAULT false
);

CREATE FUNCTION pb_alarm(p_kind text, p_station text, p_seq bigint, p_order text, p_message text,
                         p_detail jsonb, p_key text, OUT alarm_id bigint, OUT is_new boolean)
LANGUAGE sql AS $f$
    INSERT INTO alarms AS a (kind, station_id, seq, order_no, message, detail, dedupe_key)
    VALUES (p_kind, p_station, p_seq, p_order, p_message, coalesce(p_detail, '{}'), p_key)
    ON CONFLICT (dedupe_key) DO UPDATE
        SET count = a.count + 1, last_at = now(), acknowledged = false, message = excluded.message
    RETURNING a.id, (a.xmax = 0)
$f$;

-- Appends one event to the centre's own chain (station "central"). Callers lock claims rows
-- before calling this, never after, so the central head is always the last lock taken.
CREATE FUNCTION pb_central_append(p_type text, p_actor text, p_order text, p_data jsonb) RETURNS bigint
LANGUAGE plpgsql AS $f$
DECLARE
    h_seq bigint; h_hash text; v_seq bigint; v_at text; v_data text; v_hash text;
BEGIN
    INSERT INTO bench_heads (station_id) VALUES ('central') ON CONFLICT DO NOTHING;
    SELECT b.seq, b.hash INTO h_seq, h_hash FROM bench_heads b WHERE b.station_id = 'central' FOR UPDATE;
    v_seq := h_seq + 1;
    v_at := to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS') || '+00:00';
    v_data := p_data::text;
    v_hash := pb_event_hash(h_hash, v_seq, v_at, p_type, p_actor, 'central', p_order, v_data);
    INSERT INTO events (station_id, seq, at, at_ts, type, actor, order_no, data, prev_hash, hash)
    VALUES ('central', v_seq, v_at, v_at::timestamptz, p_type, p_actor, p_order, v_data, h_hash, v_hash);
    UPDATE bench_heads SET seq = v_seq, hash = v_hash, last_seen = now() WHERE station_id = 'central';
    RETURN v_seq;
END $f$;

-- The station a bench role acts as, or NULL for a role that is not a bench.
CREATE FUNCTION pb_my_station() RETURNS text LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, packbench, pg_temp AS $f$
    SELECT station_id FROM bench_roles WHERE role_name = session_user
$f$;

-- Called inside the SECURITY DEFINER functions (current_user is their owner there): a bench
-- role may act only as its own station; a role that is not a bench must be the owner's.
CREATE FUNCTION pb_check_station(p_station text) RETURNS void LANGUAGE plpgsql AS $f$
DECLARE mine text;
BEGIN
    SELECT station_id INTO mine FROM bench_roles WHERE role_name = session_user;
    IF mine IS NOT NULL THEN
        IF mine IS DISTINCT FROM p_station THEN
            RAISE EXCEPTION 'role % is bench %, it may not act as station %', session_user, mine, p_station
                USING ERRCODE = 'insufficient_privilege';
        END IF;
    ELSIF NOT pg_has_role(session_user, current_user, 'MEMBER') THEN
        RAISE EXCEPTION 'role % is not a bench of this database (run packbench central add-bench)', session_user
            USING ERRCODE = 'insufficient_privilege';
    END IF;
END $f$;

CREATE FUNCTION pb_ingest(p_station text, p_seq bigint[], p_at text[], p_type text[], p_actor text[],
        p_order text[], p_data text[], p_prev text[], p_hash text[], p_epoch bigint[])
RETURNS TABLE (status text, head_seq bigint, head_hash text, refused_seq bigint, alarm_kind text,
               message text, flagged bigint[])
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, packbench, pg_temp AS $f$
BEGIN
    PERFORM pb_check_station(p_station);
    IF p_station = 'central' AND pb_my_station() IS NOT NULL THEN
        RAISE EXCEPTION 'only the centre writes station central' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY SELECT * FROM pb_ingest_unchecked(p_station, p_seq, p_at, p_type, p_actor, p_order,
                                                   p_data, p_prev, p_hash, p_epoch);
END $f$;

-- Claim: one compare-and-set. Granted when the order is not packed and is free, already this
-- bench's, or its lease ran out; a bench re-claiming what it holds keeps its epoch (a retry
-- after a lost reply must not look like a new claim).
CREATE FUNCTION pb_claim_unchecked(p_station text, p_order text, p_packer text, p_lease_ms bigint)
RETURNS TABLE (granted boolean, claim_epoch bigint, held_by text, held_by_packer text, since timestamptz,
               packed boolean)
LANGUAGE plpgsql AS $f$
DECLARE
    v_epoch bigint; v_since timestamptz; r claims%ROWTYPE; tries int := 0;
BEGIN
    LOOP
        tries := tries + 1;
        INSERT INTO claims AS c (order_no, station_id, packer_id, claim_epoch, since, lease_until, released)
        VALUES (p_order, p_station, p_packer, 1, now(),
                now() + p_lease_ms * interval '1 millisecond', false)
        ON CONFLICT (order_no) DO UPDATE SET
            claim_epoch = CASE WHEN NOT c.released AND c.station_id = excluded.station_id
                                    AND (c.lease_until IS NULL OR c.lease_until > now())
                               THEN c.claim_epoch ELSE c.claim_epoch + 1 END,
            since = CASE WHEN NOT c.released AND c.station_id = excluded.station_id
                              AND (c.lease_until IS NULL OR c.lease_until > now())
                         THEN c.since ELSE now() END,
            station_id = excluded.station_id,
            packer_id = excluded.packer_id,
            lease_until = excluded.lease_until,
            released = false, released_at = NULL, released_by = NULL, release_reason = NULL
        WHERE NOT c.packed
          AND (c.released OR c.station_id = excluded.station_id
               OR (c.lease_until IS NOT NULL AND c.lease_until <= now()))
        RETURNING c.claim_epoch, c.since INTO v_epoch, v_since;

        IF v_epoch IS NOT NULL THEN
            -- A grant taken over from a lapsed lease ends the old one.
            UPDATE claim_grants cg
               SET ended_at = now(), end_kind = CASE WHEN cg.station_id = p_station THEN 'renewed' ELSE 'expired' END
             WHERE cg.order_no = p_order AND cg.claim_epoch < v_epoch AND cg.ended_at IS NULL;
            INSERT INTO claim_grants (order_no, claim_epoch, station_id, packer_id)
            VALUES (p_order, v_epoch, p_station, p_packer)
            ON CONFLICT ON CONSTRAINT claim_grants_pkey DO NOTHING;
            RETURN QUERY SELECT true, v_epoch, p_station, p_packer, v_since, false;
            RETURN;
        END IF;

        SELECT * INTO r FROM claims cl WHERE cl.order_no = p_order;
        IF r.packed THEN
            RETURN QUERY SELECT false, NULL::bigint, r.packed_by, NULL::text, r.packed_at, true;
            RETURN;
        END IF;
        IF NOT r.released AND r.station_id <> p_station
           AND (r.lease_until IS NULL OR r.lease_until > now()) THEN
            RETURN QUERY SELECT false, NULL::bigint, r.station_id, r.packer_id, r.since, false;
            RETURN;
        END IF;
        -- Freed between the two statements: try again.
        IF tries >= 5 THEN
            RAISE EXCEPTION 'claim of order % by % did not settle', p_order, p_station;
        END IF;
    END LOOP;
END $f$;

CREATE FUNCTION pb_claim(p_station text, p_order text, p_packer text, p_lease_ms bigint)
RETURNS TABLE (granted boolean, claim_epoch bigint, held_by text, held_by_packer text, since timestamptz,
               packed boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, packbench, pg_temp AS $f$
BEGIN
    PERFORM pb_check_station(p_station);
    RETURN QUERY SELECT * FROM pb_claim_unchecked(p_station, p_order, p_packer, p_lease_ms);
END $f$;

-- Release by the holder (p_kind 'holder') or a supervisor ('supervisor', any holder).
CREATE FUNCTION pb_release_unchecked(p_station text, p_order text, p_by text, p_reason text, p_kind text)
RETURNS TABLE (released boolean, station_id text, packer_id text, claim_epoch bigint, since timestamptz)
LANGUAGE plpgsql AS $f$
DECLARE
    v_station text; v_packer text; v_epoch bigint; v_since timestamptz;
BEGIN
    UPDATE claims c SET released = true, released_at = now(), released_by = p_by, release_reason = p_reason
     WHERE c.order_no = p_order AND NOT c.released AND (p_kind = 'supervisor' OR c.station_id = p_station)
    RETURNING c.station_id, c.packer_id, c.claim_epoch, c.since INTO v_station, v_packer, v_epoch, v_since;
    IF NOT FOUND THEN
        RETURN QUERY SELECT false, NULL::text, NULL::text, NULL::bigint, NULL::timestamptz;
        RETURN;
    END IF;
    UPDATE claim_grants cg SET ended_at = now(), ended_by = p_by, end_kind = p_kind, reason = p_reason
     WHERE cg.order_no = p_order AND cg.claim_epoch = v_epoch AND cg.ended_at IS NULL;
    IF p_kind = 'supervisor' THEN
        PERFORM pb_central_append('claim_released', p_by, p_order,
            jsonb_build_object('by', p_by, 'reason', p_reason, 'held_by', v_station,
                               'held_by_packer', v_packer, 'claim_epoch', v_epoch));
    END IF;
    RETURN QUERY SELECT true, v_station, v_packer, v_epoch, v_since;
END $f$;

CREATE FUNCTION pb_release(p_station text, p_order text, p_by text, p_reason text)
RETURNS TABLE (released boolean, station_id text, packer_id text, claim_epoch bigint, since timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, packbench, pg_temp AS $f$
BEGIN
    PERFORM pb_check_station(p_station);
    RETURN QUERY SELECT * FROM pb_release_unchecked(p_station, p_order, p_by, p_reason, 'holder');
END $f$;

CREATE FUNCTION pb_heartbeat(p_station text, p_packer text, p_held_order text, p_backlog bigint)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, packbench, pg_temp AS $f$
BEGIN
    PERFORM pb_check_station(p_station);
    INSERT INTO bench_heads AS b (station_id, last_seen, packer_id, held_order, backlog, reported_at)
    VALUES (p_station, now(), p_packer, p_held_order, p_backlog, now())
    ON CONFLICT (station_id) DO UPDATE SET last_seen = now(), packer_id = excluded.packer_id,
        held_order = excluded.held_order, backlog = excluded.backlog, reported_at = now();
END $f$;

-- A bench that has just claimed an order reads what other benches did with it, so their
-- counts show; only for an order it holds, never the rest of the log.
CREATE FUNCTION pb_order_history(p_station text, p_order text)
RETURNS TABLE (station_id text, seq bigint, at text, type text, actor text, order_no text, data text,
               hash text, claim_epoch bigint, flagged boolean, received_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, packbench, pg_temp AS $f$
BEGIN
    PERFORM pb_check_station(p_station);
    IF NOT EXISTS (SELECT 1 FROM claims c WHERE c.order_no = p_order AND c.station_id = p_station
                   AND NOT c.released) THEN
        RAISE EXCEPTION 'station % does not hold order %', p_station, p_order
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY SELECT e.station_id, e.seq, e.at, e.type, e.actor, e.order_no, e.data, e.hash,
                        e.claim_epoch, e.flagged, e.received_at
                   FROM events e WHERE e.order_no = p_order AND e.station_id <> p_station
                  ORDER BY e.at_ts, e.station_id, e.seq;
END $f$;

-- Orders held by benches now: a bench keeps this to decide offline (`offline = "open"`).
CREATE FUNCTION pb_held_orders()
RETURNS TABLE (order_no text, station_id text, packer_id text, since timestamptz)
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, packbench, pg_temp AS $f$
    SELECT c.order_no, c.station_id, c.packer_id, c.since FROM claims c WHERE NOT c.released
$f$;

