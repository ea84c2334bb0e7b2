-- Migration 5: the trust boundary (issue 22). `central init` has moved a centre made before
-- this into the `packbench` schema, owned by the database's NOLOGIN owner role; the roles,
-- ownership and grants are set by init itself (privileges.rs), every run.

-- Made by the versions before: the bench role is now made by init, and review and release
-- take the supervisor's PIN (routines.sql).
DROP FUNCTION IF EXISTS pb_add_bench(text, text);
DROP FUNCTION IF EXISTS pb_review(text, text, text);
DROP FUNCTION IF EXISTS pb_supervisor_release(text, text, text);

-- Wrong PINs counted centrally, per employee, whichever bench or console they came from.
CREATE TABLE pin_failures (
    employee_id text PRIMARY KEY,
    failures integer NOT NULL DEFAULT 0,
    last_failed_at timestamptz,
    last_failed_by text,
    last_ok_at timestamptz,
    locked_until timestamptz
);

-- Which database role is which supervisors' console (`central add-console`).
CREATE TABLE console_roles (
    role_name text PRIMARY KEY,
    console_id text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The roles init last set up for this database, so that a database copied from another (a
-- template, a restored dump under a new name) loses the other's grants on the next init.
CREATE TABLE install (
    key text PRIMARY KEY,
    value text NOT NULL
);

-- Benches of the versions before kept a copy of every PIN hash. A new change id on every
-- employee makes each bench take its employees again, without hashes: a bench then keeps
-- only the hash of a PIN the centre accepted there.
UPDATE employees SET name = name;
