-- Functions `central init` creates or replaces on every run, after the migrations: their
-- bodies may change from one release to the next while their tables stay. Every function
-- here runs with `search_path = pg_catalog, packbench, pg_temp` (set on each by init, or in
-- the definition), so nothing a database user creates elsewhere is ever called in their
-- place (CVE-2018-1058); SECURITY DEFINER ones run as the schema's NOLOGIN owner.

-- The chain hash exactly as src/store/chain.rs computes it: prev || be64(seq) || fields,
-- a field being 0x00 for NULL or 0x01 || be64(byte length) || UTF-8 bytes. SQL-standard
-- bodies: bound when created, so no search path applies, and still inlined into callers.
CREATE OR REPLACE FUNCTION pb_field(v text) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE WHEN v IS NULL THEN '\x00'::bytea
        ELSE '\x01'::bytea || int8send(octet_length(convert_to(v, 'UTF8'))::bigint) || convert_to(v, 'UTF8')
    END;
END;

CREATE OR REPLACE FUNCTION pb_event_hash(prev text, seq bigint, at text, typ text, actor text, station text,
                              order_no text, data text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT encode(sha256(decode(prev, 'hex') || int8send(seq) || pb_field(at) || pb_field(typ)
        || pb_field(actor) || pb_field(station) || pb_field(order_no) || pb_field(data)), 'hex');
END;

-- Ingest: one batch of one station's events, in order. Identical re-sends of known events
-- are skipped (exactly once); the first event that does not chain onto the head is refused
-- with an alarm and nothing after it is applied. Returns instead of raising, so the alarm
-- commits with the events accepted before the bad one.
CREATE OR REPLACE FUNCTION pb_ingest_unchecked(p_station text, p_seq bigint[], p_at text[], p_type text[],
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
    v_unbacked boolean;
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
            IF NOT FOUND THEN
                g := NULL;
            END IF;
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

        -- The centre believes claims, not benches: an order_packed under a claim epoch this
        -- bench was never granted, or with no claim at all (not even one taken offline), does
        -- not mark the order packed; it is kept (the chain stays whole), flagged and raised.
        v_unbacked := false;
        IF p_type[i] = 'order_packed' AND p_order[i] IS NOT NULL THEN
            IF p_epoch[i] IS NOT NULL THEN
                v_unbacked := g.order_no IS NULL OR g.station_id <> p_station;
            ELSE
                v_unbacked := NOT EXISTS (SELECT 1 FROM events e WHERE e.order_no = p_order[i]
                                            AND e.station_id = p_station AND e.type = 'order_claimed');
            END IF;
        END IF;
        IF v_unbacked THEN
            v_flag := true;
            SELECT * INTO v_alarm FROM pb_alarm('unbacked_packed', p_station, p_seq[i], p_order[i],
                format('station %s reported order %s packed (event %s) with no claim of the centre behind it%s: the order is not marked packed',
                       p_station, p_order[i], p_seq[i], coalesce(' (claim ' || p_epoch[i] || ' was never granted to it)', '')),
                jsonb_build_object('claim_epoch', p_epoch[i]),
                format('unbacked_packed|%s|%s|%s', p_station, p_order[i], p_seq[i]));
        END IF;

        -- A packaging scanned after a failed weighing can hide a missing unit (a lighter box
        -- makes the weight fit): a supervisor looks at every one.
        IF p_type[i] = 'packaging_set' AND p_order[i] IS NOT NULL AND EXISTS (
               SELECT 1 FROM events w
                WHERE w.order_no = p_order[i] AND w.station_id = p_station AND w.type = 'weight_checked'
                  AND (w.data::jsonb->>'ok') = 'false'
                  AND NOT EXISTS (SELECT 1 FROM events k WHERE k.order_no = w.order_no
                                     AND k.station_id = p_station AND k.seq > w.seq
                                     AND k.type IN ('order_packed', 'order_held', 'order_released'))) THEN
            PERFORM pb_alarm('packaging_after_mismatch', p_station, p_seq[i], p_order[i],
                format('station %s changed the packaging of order %s to %s after a failed weighing (event %s)',
                       p_station, p_order[i], coalesce((p_data[i]::jsonb)->>'packaging', '?'), p_seq[i]),
                jsonb_build_object('packaging', (p_data[i]::jsonb)->>'packaging'),
                format('packaging_after_mismatch|%s|%s', p_station, p_seq[i]));
        END IF;

        IF p_type[i] = 'order_packed' AND p_order[i] IS NOT NULL AND NOT v_unbacked THEN
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


-- PINs are checked here, never by reading pin_hash (no bench or console may). The caller
-- asks for the salt and cost of the employee's hash (pb_pin_params), hashes the typed PIN
-- with them and sends the result: equal to the stored hash means the PIN is right. Every
-- wrong one counts centrally, whichever bench or console it came from; five in a row lock
-- the badge for five minutes (domain/pin.rs has the same numbers) and raise a review item.
CREATE OR REPLACE FUNCTION pb_pin_params(p_id text) RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, packbench, pg_temp AS $f$
    SELECT left(e.pin_hash, length(e.pin_hash) - position('$' IN reverse(e.pin_hash)))
      FROM employees e WHERE e.id = p_id AND e.pin_hash IS NOT NULL
$f$;

CREATE OR REPLACE FUNCTION pb_pin_check(p_id text, p_proof text)
RETURNS TABLE (outcome text, failures integer, locked_until timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, packbench, pg_temp AS $f$
DECLARE
    v_hash text; v_active boolean; f pin_failures%ROWTYPE; v_who text; v_n integer;
    v_until timestamptz;
BEGIN
    SELECT e.pin_hash, e.active INTO v_hash, v_active FROM employees e WHERE e.id = p_id;
    IF NOT FOUND THEN
        RETURN QUERY SELECT 'unknown'::text, 0, NULL::timestamptz;
        RETURN;
    END IF;
    IF NOT v_active THEN
        RETURN QUERY SELECT 'inactive'::text, 0, NULL::timestamptz;
        RETURN;
    END IF;
    IF v_hash IS NULL THEN
        RETURN QUERY SELECT 'no_pin'::text, 0, NULL::timestamptz;
        RETURN;
    END IF;
    v_who := coalesce(pb_my_station(), session_user::text);
    INSERT INTO pin_failures AS pf (employee_id) VALUES (p_id) ON CONFLICT DO NOTHING;
    SELECT * INTO f FROM pin_failures pf WHERE pf.employee_id = p_id FOR UPDATE;
    IF f.locked_until > now() THEN
        RETURN QUERY SELECT 'locked'::text, f.failures, f.locked_until;
        RETURN;
    END IF;
    IF p_proof IS NOT NULL AND p_proof = v_hash THEN
        UPDATE pin_failures pf SET failures = 0, locked_until = NULL, last_ok_at = now()
         WHERE pf.employee_id = p_id;
        RETURN QUERY SELECT 'ok'::text, 0, NULL::timestamptz;
        RETURN;
    END IF;
    v_n := f.failures + 1;
    IF v_n >= 5 THEN
        v_until := now() + interval '5 minutes';
        UPDATE pin_failures pf SET failures = 0, last_failed_at = now(), last_failed_by = v_who,
               locked_until = v_until
         WHERE pf.employee_id = p_id;
        PERFORM pb_alarm('badge_locked', pb_my_station(), NULL, NULL,
            format('the badge of %s is locked until %s after %s wrong PINs in a row (the last at %s)',
                   p_id, to_char(v_until AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS "UTC"'), v_n, v_who),
            jsonb_build_object('employee_id', p_id, 'by', v_who, 'until', v_until, 'failures', v_n),
            format('badge_locked|%s|%s', p_id, v_until));
        RETURN QUERY SELECT 'locked_now'::text, v_n, v_until;
        RETURN;
    END IF;
    UPDATE pin_failures pf SET failures = v_n, last_failed_at = now(), last_failed_by = v_who
     WHERE pf.employee_id = p_id;
    RETURN QUERY SELECT 'wrong'::text, v_n, NULL::timestamptz;
END $f$;

-- A right PIN whose stored hash is cheaper than today's cost is hashed again by the caller
-- (who has just typed it) and replaced here, proven by the old hash.
CREATE OR REPLACE FUNCTION pb_pin_rehash(p_id text, p_proof text, p_new text) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, packbench, pg_temp AS $f$
DECLARE v_m bigint; v_t bigint;
BEGIN
    IF p_new !~ '^\$argon2id\$v=19\$m=[0-9]{1,9},t=[0-9]{1,4},p=[0-9]{1,3}\$[A-Za-z0-9+/]{16,}\$[A-Za-z0-9+/]{32,}$' THEN
        RAISE EXCEPTION 'a new PIN hash must be an Argon2id PHC string' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_m := substring(p_new FROM 'm=([0-9]+)')::bigint;
    v_t := substring(p_new FROM 't=([0-9]+)')::bigint;
    IF v_m < 65536 OR v_t < 3 THEN
        RAISE EXCEPTION 'a new PIN hash must cost at least 64 MiB and 3 passes' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    UPDATE employees e SET pin_hash = p_new WHERE e.id = p_id AND e.pin_hash = p_proof;
    RETURN FOUND;
END $f$;

-- `packbench central release ORDER --by ID`: the supervisor's PIN is checked here too.
CREATE OR REPLACE FUNCTION pb_supervisor_release(p_order text, p_by text, p_pin text, p_reason text)
RETURNS TABLE (outcome text, released boolean, station_id text, packer_id text, claim_epoch bigint,
               since timestamptz)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, packbench, pg_temp AS $f$
DECLARE v_roles text; v_active boolean; v_pin record;
BEGIN
    SELECT e.roles, e.active INTO v_roles, v_active FROM employees e WHERE e.id = p_by;
    IF v_roles IS NULL THEN
        RAISE EXCEPTION 'release of order % refused: % is not an employee', p_order, p_by
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT v_active THEN
        RAISE EXCEPTION 'release of order % refused: % is no longer active', p_order, p_by
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NOT 'supervisor' = ANY (string_to_array(v_roles, '|')) THEN
        RAISE EXCEPTION 'release of order % refused: % is not a supervisor', p_order, p_by
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    SELECT * INTO v_pin FROM pb_pin_check(p_by, p_pin);
    IF v_pin.outcome <> 'ok' THEN
        RETURN QUERY SELECT v_pin.outcome, false, NULL::text, NULL::text, NULL::bigint, NULL::timestamptz;
        RETURN;
    END IF;
    RETURN QUERY SELECT 'ok'::text, r.* FROM pb_release_unchecked(NULL, p_order, p_by, p_reason, 'supervisor') r;
END $f$;

-- `packbench audit review ITEM --note TEXT --by ID` and the console: a supervisor marks a
-- queue item reviewed; the mark is a `reviewed` event on the centre's chain, so every
-- console shows the same queue. Items are `STATION:SEQ` (an event) or `alarm:ID`.
-- The supervisor's PIN is checked here, through pb_pin_check: a wrong one counts towards
-- the badge's lockout and marks nothing.
CREATE OR REPLACE FUNCTION pb_review(p_item text, p_by text, p_pin text, p_note text)
RETURNS TABLE (outcome text, seq bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, packbench, pg_temp AS $f$
DECLARE
    v_roles text; v_active boolean; v_station text; v_seq bigint; v_order text; v_alarm bigint;
    v_done record; v_pin record;
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
    SELECT * INTO v_pin FROM pb_pin_check(p_by, p_pin);
    IF v_pin.outcome <> 'ok' THEN
        RETURN QUERY SELECT v_pin.outcome, NULL::bigint;
        RETURN;
    END IF;
    IF v_alarm IS NOT NULL THEN
        UPDATE alarms SET acknowledged = true WHERE id = v_alarm;
    END IF;
    RETURN QUERY SELECT 'ok'::text, pb_central_append('reviewed', p_by, v_order,
                             jsonb_build_object('item', p_item, 'note', p_note));
END $f$;

-- Who the session is to packbench: a bench (its station), a console, the administrator (a
-- member of the owner role) or other. The console refuses to run as anything but a console.
CREATE OR REPLACE FUNCTION pb_whoami(OUT kind text, OUT id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, packbench, pg_temp AS $f$
    SELECT CASE WHEN b.station_id IS NOT NULL THEN 'bench'
                WHEN c.console_id IS NOT NULL THEN 'console'
                WHEN pg_has_role(session_user, (SELECT i.value FROM install i WHERE i.key = 'owner'), 'MEMBER')
                    THEN 'administrator'
                ELSE 'other' END,
           coalesce(b.station_id, c.console_id)
      FROM (SELECT 1) one
      LEFT JOIN bench_roles b ON b.role_name = session_user
      LEFT JOIN console_roles c ON c.role_name = session_user
$f$;

-- The head the centre holds for a station, (0, zeros) before its first event: where its
-- bench ships from after a start, so it does not send again what the centre has. A bench
-- may ask only for its own station.
CREATE OR REPLACE FUNCTION pb_bench_head(p_station text, OUT seq bigint, OUT hash text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, packbench, pg_temp AS $f$
BEGIN
    PERFORM pb_check_station(p_station);
    SELECT b.seq, b.hash INTO seq, hash FROM bench_heads b WHERE b.station_id = p_station;
    seq := coalesce(seq, 0);
    hash := coalesce(hash, repeat('0', 64));
END $f$;
