-- The central schema exactly as packbench made it before the `packbench` schema (migrations
-- 1 to 4, all in `public`, one server-wide bench group): the tests migrate it with today's
-- `central init`. Not applied by packbench itself.
CREATE TABLE schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
-- Migration 1: base schema
DO $$ BEGIN
    CREATE ROLE packbench_bench NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
END $$;

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

-- The chain hash exactly as src/store/chain.rs computes it: prev || be64(seq) || fields,
-- a field being 0x00 for NULL or 0x01 || be64(byte length) || UTF-8 bytes.
CREATE FUNCTION pb_field(v text) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
    SELECT CASE WHEN v IS NULL THEN '\x00'::bytea
        ELSE '\x01'::bytea || int8send(octet_length(convert_to(v, 'UTF8'))::bigint) || convert_to(v, 'UTF8')
    END
$f$;

CREATE FUNCTION pb_event_hash(prev text, seq bigint, at text, typ text, actor text, station text,
                              order_no text, data text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$
    SELECT encode(sha256(decode(prev, 'hex') || int8send(seq) || pb_field(at) || pb_field(typ)
        || pb_field(actor) || pb_field(station) || pb_field(order_no) || pb_field(data)), 'hex')
$f$;

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
SET search_path = public, pg_temp AS $f$
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

-- Ingest: one batch of one station's events, in order. Identical re-sends of known events
-- are skipped (exactly once); the first event that does not chain onto the head is refused
-- with an alarm and nothing after it is applied. Returns instead of raising, so the alarm
-- commits with the events accepted before the bad one.
CREATE FUNCTION pb_ingest_unchecked(p_station text, p_seq bigint[], p_at text[], p_type text[],
        p_actor text[], p_order text[], p_data text[], p_prev text[], p_hash text[], p_epoch bigint[])
RETURNS TABLE (status text, head_seq bigint, head_hash text, refused_seq bigint, alarm_kind text,
               message text, flagged bigint[])
LANGUAGE plpgsql AS $f$
DECLARE
    n int := coalesce(array_length(p_seq, 1), 0);
    h_seq bigint; h_hash text;
    i int;
    old events%ROWTYPE;
    v_hash text;
    v_ts timestamptz;
    v_flag boolean;
    v_reason text;
    v_flagged bigint[] := '{}';
    v_kind text; v_msg text; v_bad bigint;
    g claim_grants%ROWTYPE;
    c claims%ROWTYPE;
    v_others text[];
    v_stations text[];
    v_alarm record;
    v_pending jsonb[] := '{}';
    v_ev jsonb;
BEGIN
    IF coalesce(array_length(p_at, 1), 0) <> n OR coalesce(array_length(p_type, 1), 0) <> n
       OR coalesce(array_length(p_actor, 1), 0) <> n OR coalesce(array_length(p_order, 1), 0) <> n
       OR coalesce(array_length(p_data, 1), 0) <> n OR coalesce(array_length(p_prev, 1), 0) <> n
       OR coalesce(array_length(p_hash, 1), 0) <> n OR coalesce(array_length(p_epoch, 1), 0) <> n THEN
        RAISE EXCEPTION 'ingest batch of station %: the field arrays differ in length', p_station;
    END IF;
    INSERT INTO bench_heads (station_id) VALUES (p_station) ON CONFLICT DO NOTHING;
    SELECT b.seq, b.hash INTO h_seq, h_hash FROM bench_heads b WHERE b.station_id = p_station FOR UPDATE;

    FOR i IN 1 .. n LOOP
        IF p_seq[i] IS NULL OR p_at[i] IS NULL OR p_type[i] IS NULL OR p_data[i] IS NULL
           OR p_prev[i] IS NULL OR p_hash[i] IS NULL THEN
            v_kind := 'bad_event'; v_bad := p_seq[i];
            v_msg := format('station %s sent event %s with a required field missing', p_station, p_seq[i]);
            EXIT;
        END IF;
        IF p_seq[i] <= h_seq THEN
            SELECT * INTO old FROM events e WHERE e.station_id = p_station AND e.seq = p_seq[i];
            IF FOUND AND old.at = p_at[i] AND old.type = p_type[i]
               AND old.actor IS NOT DISTINCT FROM p_actor[i] AND old.order_no IS NOT DISTINCT FROM p_order[i]
               AND old.data = p_data[i] AND old.prev_hash = p_prev[i] AND old.hash = p_hash[i] THEN
                CONTINUE;  -- a re-send of what the centre holds: exactly once
            END IF;
            v_kind := 'fork'; v_bad := p_seq[i];
            v_msg := format('station %s sent an event %s different from the event %s the centre holds: its chain forked',
                            p_station, p_seq[i], p_seq[i]);
            EXIT;
        END IF;
        IF p_seq[i] <> h_seq + 1 THEN
            v_kind := 'gap'; v_bad := p_seq[i];
            v_msg := format('station %s sent event %s but the centre holds its events up to %s: events %s to %s are missing',
                            p_station, p_seq[i], h_seq, h_seq + 1, p_seq[i] - 1);
            EXIT;
        END IF;
        IF p_prev[i] <> h_hash THEN
            v_kind := 'bad_chain'; v_bad := p_seq[i];
            v_msg := format('station %s event %s does not chain onto its event %s as the centre holds it',
                            p_station, p_seq[i], h_seq);
            EXIT;
        END IF;
        v_hash := pb_event_hash(h_hash, p_seq[i], p_at[i], p_type[i], p_actor[i], p_station, p_order[i], p_data[i]);
        IF v_hash <> p_hash[i] THEN
            v_kind := 'bad_hash'; v_bad := p_seq[i];
            v_msg := format('station %s event %s does not match its hash: forged or altered', p_station, p_seq[i]);
            EXIT;
        END IF;
        -- RFC 3339 only: PostgreSQL would also take 'yesterday' or 'infinity'.
        IF p_at[i] !~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$' THEN
            v_kind := 'bad_event'; v_bad := p_seq[i];
            v_msg := format('station %s event %s: its time %s is not an RFC 3339 time', p_station, p_seq[i],
                            quote_literal(p_at[i]));
            EXIT;
        END IF;
        BEGIN
            v_ts := p_at[i]::timestamptz;
            IF jsonb_typeof(p_data[i]::jsonb) <> 'object' THEN
                v_kind := 'bad_event'; v_bad := p_seq[i];
                v_msg := format('station %s event %s: its data is not a JSON object', p_station, p_seq[i]);
            END IF;
        EXCEPTION WHEN data_exception THEN
            v_kind := 'bad_event'; v_bad := p_seq[i];
            v_msg := format('station %s event %s has an unreadable time or data: %s', p_station, p_seq[i], SQLERRM);
        END;
        IF v_kind IS NOT NULL THEN
            EXIT;
        END IF;

        -- The claim the event was made under must have been this bench's, and not taken from
        -- it (supervisor release, expired lease) before the event got here.
        v_flag := false; v_reason := NULL; v_stations := NULL;
        IF p_order[i] IS NOT NULL AND p_epoch[i] IS NOT NULL THEN
            SELECT * INTO g FROM claim_grants cg WHERE cg.order_no = p_order[i] AND cg.claim_epoch = p_epoch[i];
            IF NOT FOUND OR g.station_id <> p_station THEN
                v_flag := true;
                v_reason := format('claim %s of order %s was never granted to %s', p_epoch[i], p_order[i], p_station);
            ELSIF g.end_kind IN ('supervisor', 'expired') THEN
                v_flag := true;
                v_reason := format('claim %s of order %s was ended (%s%s) before event %s of %s reached the centre',
                                   p_epoch[i], p_order[i], g.end_kind, coalesce(' by ' || g.ended_by, ''),
                                   p_seq[i], p_station);
            END IF;
            IF v_flag THEN
                SELECT cl.station_id INTO c.station_id FROM claims cl WHERE cl.order_no = p_order[i];
                v_stations := ARRAY(SELECT DISTINCT s FROM unnest(ARRAY[p_station, c.station_id]) s
                                    WHERE s IS NOT NULL ORDER BY s);
                SELECT * INTO v_alarm FROM pb_alarm('claim_conflict', p_station, p_seq[i], p_order[i], v_reason,
                    jsonb_build_object('reason', 'stale_claim', 'claim_epoch', p_epoch[i], 'stations', v_stations),
                    format('claim_conflict|stale|%s|%s|%s', p_station, p_order[i], p_epoch[i]));
                IF v_alarm.is_new THEN
                    v_pending := v_pending || jsonb_build_object('order_no', p_order[i], 'data',
                        jsonb_build_object('stations', v_stations, 'reason', 'stale_claim',
                                           'station_id', p_station, 'seq', p_seq[i], 'claim_epoch', p_epoch[i]));
                END IF;
            END IF;
        END IF;

        IF p_type[i] = 'order_packed' AND p_order[i] IS NOT NULL THEN
            SELECT * INTO c FROM claims cl WHERE cl.order_no = p_order[i] FOR UPDATE;
            v_others := ARRAY(SELECT DISTINCT e.station_id FROM events e
                              WHERE e.order_no = p_order[i] AND e.type = 'order_packed' AND e.station_id <> p_station);
            IF c.order_no IS NOT NULL AND NOT c.released AND c.station_id <> p_station THEN
                v_others := v_others || c.station_id;
            END IF;
            IF cardinality(v_others) > 0 THEN
                v_flag := true;
                v_stations := ARRAY(SELECT DISTINCT s FROM unnest(v_others || p_station) s ORDER BY s);
                v_reason := format('order %s packed at %s', p_order[i], array_to_string(v_stations, ' and '));
                SELECT * INTO v_alarm FROM pb_alarm('claim_conflict', p_station, p_seq[i], p_order[i], v_reason,
                    jsonb_build_object('reason', 'packed_twice', 'stations', v_stations),
                    format('claim_conflict|packed|%s|%s', p_order[i], array_to_string(v_stations, ',')));
                IF v_alarm.is_new THEN
                    v_pending := v_pending || jsonb_build_object('order_no', p_order[i], 'data',
                        jsonb_build_object('stations', v_stations, 'reason', 'packed_twice',
                                           'station_id', p_station, 'seq', p_seq[i]));
                END IF;
            END IF;
            -- Packed ends the claim and no bench may claim the order again.
            INSERT INTO claims AS cl (order_no, station_id, released, released_at, packed, packed_by, packed_at)
            VALUES (p_order[i], p_station, true, now(), true, p_station, v_ts)
            ON CONFLICT (order_no) DO UPDATE SET
                packed = true,
                packed_by = coalesce(cl.packed_by, excluded.packed_by),
                packed_at = coalesce(cl.packed_at, excluded.packed_at),
                released = CASE WHEN cl.station_id = excluded.station_id THEN true ELSE cl.released END,
                released_at = CASE WHEN cl.station_id = excluded.station_id AND NOT cl.released THEN now() ELSE cl.released_at END;
            UPDATE claim_grants SET ended_at = now(), ended_by = p_station, end_kind = 'packed'
             WHERE order_no = p_order[i] AND station_id = p_station AND ended_at IS NULL;
        END IF;

        -- Held, or signed out with the order open: the holder's claim ends as the event
        -- arrives, so ending a claim never waits on the network at the bench.
        IF p_type[i] IN ('order_held', 'order_released') AND p_order[i] IS NOT NULL THEN
            PERFORM pb_release_unchecked(p_station, p_order[i], p_station, p_type[i], 'holder');
        END IF;
        IF p_type[i] = 'packer_signed_out' AND (p_data[i]::jsonb)->>'open_order' IS NOT NULL THEN
            PERFORM pb_release_unchecked(p_station, (p_data[i]::jsonb)->>'open_order', p_station,
                                         'packer_signed_out', 'holder');
        END IF;

        INSERT INTO events (station_id, seq, at, at_ts, type, actor, order_no, data, prev_hash, hash,
                            claim_epoch, flagged)
        VALUES (p_station, p_seq[i], p_at[i], v_ts, p_type[i], p_actor[i], p_order[i], p_data[i], p_prev[i],
                p_hash[i], p_epoch[i], v_flag);
        IF v_flag THEN
            v_flagged := v_flagged || p_seq[i];
        END IF;
        h_seq := p_seq[i];
        h_hash := p_hash[i];
    END LOOP;

    UPDATE bench_heads SET seq = h_seq, hash = h_hash, last_seen = now() WHERE station_id = p_station;
    IF v_kind IS NOT NULL THEN
        PERFORM pb_alarm(v_kind, p_station, v_bad, NULL, v_msg,
                         jsonb_build_object('head_seq', h_seq, 'head_hash', h_hash),
                         format('%s|%s|%s', v_kind, p_station, v_bad));
    END IF;
    -- The centre's own record of each new conflict, last: the central head is the last lock.
    FOREACH v_ev IN ARRAY v_pending LOOP
        PERFORM pb_central_append('claim_conflict', NULL, v_ev->>'order_no', v_ev->'data');
    END LOOP;
    RETURN QUERY SELECT CASE WHEN v_kind IS NULL THEN 'accepted' ELSE 'refused' END,
                        h_seq, h_hash, v_bad, v_kind, v_msg, v_flagged;
END $f$;

CREATE FUNCTION pb_ingest(p_station text, p_seq bigint[], p_at text[], p_type text[], p_actor text[],
        p_order text[], p_data text[], p_prev text[], p_hash text[], p_epoch bigint[])
RETURNS TABLE (status text, head_seq bigint, head_hash text, refused_seq bigint, alarm_kind text,
               message text, flagged bigint[])
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
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
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
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
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
BEGIN
    PERFORM pb_check_station(p_station);
    RETURN QUERY SELECT * FROM pb_release_unchecked(p_station, p_order, p_by, p_reason, 'holder');
END $f$;

-- `packbench central release`: only for the centre's administrators (no grant to benches).
CREATE FUNCTION pb_supervisor_release(p_order text, p_by text, p_reason text)
RETURNS TABLE (released boolean, station_id text, packer_id text, claim_epoch bigint, since timestamptz)
LANGUAGE plpgsql AS $f$
DECLARE v_roles text;
BEGIN
    SELECT e.roles INTO v_roles FROM employees e WHERE e.id = p_by;
    IF v_roles IS NULL THEN
        RAISE EXCEPTION 'release of order % refused: % is not an employee', p_order, p_by
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT 'supervisor' = ANY (string_to_array(v_roles, '|')) THEN
        RAISE EXCEPTION 'release of order % refused: % is not a supervisor', p_order, p_by
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN QUERY SELECT * FROM pb_release_unchecked(NULL, p_order, p_by, p_reason, 'supervisor');
END $f$;

CREATE FUNCTION pb_heartbeat(p_station text, p_packer text, p_held_order text, p_backlog bigint)
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
BEGIN
    PERFORM pb_check_station(p_station);
    INSERT INTO bench_heads AS b (station_id, last_seen, packer_id, held_order, backlog, reported_at)
    VALUES (p_station, now(), p_packer, p_held_order, p_backlog, now())
    ON CONFLICT (station_id) DO UPDATE SET last_seen = now(), packer_id = excluded.packer_id,
        held_order = excluded.held_order, backlog = excluded.backlog, reported_at = now();
END $f$;

-- `packbench central add-bench`: a login role per bench with a SCRAM verifier made by the
-- client (the password itself never reaches the server). Names are checked, then quoted
-- with format's %I and %L: CREATE ROLE takes no bind parameters.
CREATE FUNCTION pb_add_bench(p_station text, p_verifier text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE v_exists boolean; v_bench boolean; v_mapped text;
BEGIN
    IF p_station IS NULL OR p_station !~ '^[A-Za-z0-9_-]{1,63}$' THEN
        RAISE EXCEPTION 'station id % must be 1 to 63 letters, digits, _ or -', quote_literal(p_station);
    END IF;
    IF p_station = 'central' OR p_station ILIKE 'pg\_%' OR p_station IN ('public', 'postgres', 'packbench_bench') THEN
        RAISE EXCEPTION 'station id % is reserved', p_station;
    END IF;
    IF p_verifier !~ '^SCRAM-SHA-256\$' THEN
        RAISE EXCEPTION 'a bench password must arrive as a SCRAM-SHA-256 verifier';
    END IF;
    SELECT station_id INTO v_mapped FROM bench_roles WHERE role_name = p_station;
    SELECT true, pg_has_role(p_station, 'packbench_bench', 'MEMBER') INTO v_exists, v_bench
      FROM pg_roles WHERE rolname = p_station;
    IF v_exists AND NOT v_bench THEN
        RAISE EXCEPTION 'a database role % exists and is not a packbench bench: choose another station id', p_station;
    END IF;
    IF v_exists THEN
        -- Adding a bench again gives it a new password.
        EXECUTE format('ALTER ROLE %I WITH LOGIN PASSWORD %L', p_station, p_verifier);
    ELSE
        EXECUTE format('CREATE ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT NOREPLICATION CONNECTION LIMIT 8 PASSWORD %L IN ROLE packbench_bench',
                       p_station, p_verifier);
    END IF;
    IF v_mapped IS NULL THEN
        INSERT INTO bench_roles (role_name, station_id) VALUES (p_station, p_station);
    END IF;
    INSERT INTO bench_heads (station_id) VALUES (p_station) ON CONFLICT DO NOTHING;
    RETURN p_station;
END $f$;

-- A bench that has just claimed an order reads what other benches did with it, so their
-- counts show; only for an order it holds, never the rest of the log.
CREATE FUNCTION pb_order_history(p_station text, p_order text)
RETURNS TABLE (station_id text, seq bigint, at text, type text, actor text, order_no text, data text,
               hash text, claim_epoch bigint, flagged boolean, received_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
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
LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
    SELECT c.order_no, c.station_id, c.packer_id, c.since FROM claims c WHERE NOT c.released
$f$;

-- Least privilege: nothing for PUBLIC; benches get the master data to read and the bench
-- functions to call.
-- (Only packbench's own functions: the database may hold other things.)
DO $$
DECLARE f regprocedure;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'pb\_%' LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END $$;
GRANT SELECT ON skus, orders, employees, packaging TO packbench_bench;
GRANT EXECUTE ON FUNCTION
    pb_ingest(text, bigint[], text[], text[], text[], text[], text[], text[], text[], bigint[]),
    pb_claim(text, text, text, bigint),
    pb_release(text, text, text, text),
    pb_heartbeat(text, text, text, bigint),
    pb_master_head(),
    pb_my_station(),
    pb_order_history(text, text),
    pb_held_orders()
TO packbench_bench;

INSERT INTO schema_version (version) VALUES (1);
-- Migration 2: employees' PINs (Argon2id hashes only) and whether the badge is still active
ALTER TABLE employees ADD COLUMN pin_hash text;
ALTER TABLE employees ADD COLUMN active boolean NOT NULL DEFAULT true;

INSERT INTO schema_version (version) VALUES (2);
-- Migration 3: supervision (board, review queue, search)
-- Search as you type on fragments of order numbers, waybills, recipients, SKUs and names.
-- pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
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

-- `packbench audit review ITEM --note TEXT --by ID` and the console: a supervisor marks a
-- queue item reviewed; the mark is a `reviewed` event on the centre's chain, so every
-- console shows the same queue. Items are `STATION:SEQ` (an event) or `alarm:ID`.
CREATE FUNCTION pb_review(p_item text, p_by text, p_note text) RETURNS bigint
LANGUAGE plpgsql AS $f$
DECLARE
    v_roles text; v_active boolean; v_station text; v_seq bigint; v_order text; v_alarm bigint;
    v_done record;
BEGIN
    SELECT e.roles, e.active INTO v_roles, v_active FROM employees e WHERE e.id = p_by;
    IF v_roles IS NULL THEN
        RAISE EXCEPTION 'review of % refused: % is not an employee', p_item, p_by
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT v_active THEN
        RAISE EXCEPTION 'review of % refused: % is no longer active', p_item, p_by
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT 'supervisor' = ANY (string_to_array(v_roles, '|')) THEN
        RAISE EXCEPTION 'review of % refused: % is not a supervisor', p_item, p_by
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF p_note IS NULL OR btrim(p_note) = '' OR char_length(p_note) > 500 THEN
        RAISE EXCEPTION 'review of %: the note must be 1 to 500 characters', p_item
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_item ~ '^alarm:[0-9]{1,18}$' THEN
        v_alarm := substr(p_item, 7)::bigint;
        SELECT a.order_no INTO v_order FROM alarms a WHERE a.id = v_alarm;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'review: there is no alarm %', v_alarm USING ERRCODE = 'no_data_found';
        END IF;
    ELSIF p_item ~ '^[A-Za-z0-9_-]{1,63}:[0-9]{1,18}$' THEN
        v_station := split_part(p_item, ':', 1);
        v_seq := split_part(p_item, ':', 2)::bigint;
        SELECT e.order_no INTO v_order FROM events e WHERE e.station_id = v_station AND e.seq = v_seq;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'review: the centre holds no event % of station %', v_seq, v_station
                USING ERRCODE = 'no_data_found';
        END IF;
    ELSE
        RAISE EXCEPTION 'review: % is not a queue item (STATION:SEQ or alarm:ID)', quote_literal(p_item)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    -- One review per item, taken in turn: two consoles marking at once cannot both win.
    PERFORM pg_advisory_xact_lock(hashtextextended('pb_review:' || p_item, 0));
    SELECT e.actor, e.at INTO v_done FROM events e
     WHERE e.station_id = 'central' AND e.type = 'reviewed' AND e.data::jsonb->>'item' = p_item LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'review: % was already reviewed by % at %', p_item, v_done.actor, v_done.at
            USING ERRCODE = 'unique_violation';
    END IF;
    IF v_alarm IS NOT NULL THEN
        UPDATE alarms SET acknowledged = true WHERE id = v_alarm;
    END IF;
    RETURN pb_central_append('reviewed', p_by, v_order,
                             jsonb_build_object('item', p_item, 'note', p_note));
END $f$;
REVOKE EXECUTE ON FUNCTION pb_review(text, text, text), pb_board_track(), pb_order_units(text)
    FROM PUBLIC;
-- The searched text of orders and SKUs: benches read master data, these are part of it.
GRANT EXECUTE ON FUNCTION pb_order_text(text, text, text), pb_sku_text(text, text) TO packbench_bench;

INSERT INTO schema_version (version) VALUES (3);
-- Migration 4: supervision at the scale of a big floor: the review queue, search and reports
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
REVOKE EXECUTE ON FUNCTION pb_work_track(), pb_work_of(text, text, text, text, jsonb, timestamptz)
    FROM PUBLIC;
-- A returns desk checks a parcel against how it left, whichever bench packed it: a bench
-- may read the events of a packed order (never of one still being packed).
CREATE FUNCTION pb_packed_history(p_station text, p_order text)
RETURNS TABLE (station_id text, seq bigint, at text, type text, actor text, order_no text, data text,
               hash text, claim_epoch bigint, flagged boolean, received_at timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $f$
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
REVOKE EXECUTE ON FUNCTION pb_packed_history(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pb_packed_history(text, text) TO packbench_bench;

-- What the log already holds.
INSERT INTO work_hours
SELECT w.station_id, w.who, w.hour, sum(w.orders), sum(w.units), sum(w.wrong),
       sum(w.mismatches), sum(w.overrides), sum(w.reprints), sum(w.after_shipping)
  FROM events e,
       LATERAL pb_work_of(e.type, e.station_id, e.actor, e.order_no, e.data::jsonb, e.at_ts) w
 WHERE e.type IN ('order_packed', 'scan_rejected', 'weight_checked', 'reprint_requested',
                  'return_closed') AND e.station_id <> 'central'
 GROUP BY 1, 2, 3;

INSERT INTO schema_version (version) VALUES (4);
