//! The centre's trust boundary: who owns the schema, who may do what, and what a database
//! user who is not packbench can never reach.
//!
//! - Everything lives in the schema `packbench`, owned by a NOLOGIN role of this database
//!   (`pb_<db>_owner`) that is neither a superuser nor the administrator. SECURITY DEFINER
//!   functions run as that role and every packbench function resolves names with
//!   [`SEARCH_PATH`], where no schema is writable by anyone else: a function planted in
//!   `public` (CVE-2018-1058) is never called in place of the real one.
//! - Benches and consoles are members of groups named for the database (`pb_<db>_bench`,
//!   `pb_<db>_console`), and only they may connect to it: one warehouse's roles stay in its
//!   database even when several warehouses share a server.
//! - `central init` sets all of this on every run (ownership, search paths, grants, CONNECT)
//!   so a centre made by an older packbench, or a database copied from another, converges.

use tokio_postgres::Transaction;

/// The application schema.
pub const SCHEMA: &str = "packbench";
/// The search path of every packbench function and session: the catalog first, then the
/// schema only its owner may write, temporary objects last.
pub const SEARCH_PATH: &str = "pg_catalog, packbench, pg_temp";

/// The tables a centre made before the `packbench` schema kept in `public`.
const LEGACY_TABLES: &[&str] = &[
    "schema_version",
    "skus",
    "orders",
    "employees",
    "packaging",
    "events",
    "bench_roles",
    "bench_heads",
    "claims",
    "claim_grants",
    "checkpoints",
    "alarms",
    "bench_devices",
    "bench_hours",
    "work_hours",
];

/// The server-wide group role of the versions before (one group for every database).
const LEGACY_BENCH_GROUP: &str = "packbench_bench";

/// What benches may call: their own station's work, through functions that check the
/// station is theirs.
const BENCH_FUNCTIONS: &[&str] = &[
    "pb_ingest(text, bigint[], text[], text[], text[], text[], text[], text[], text[], bigint[])",
    "pb_claim(text, text, text, bigint)",
    "pb_release(text, text, text, text)",
    "pb_heartbeat(text, text, text, bigint)",
    "pb_master_head()",
    "pb_my_station()",
    "pb_order_history(text, text)",
    "pb_packed_history(text, text)",
    "pb_held_orders()",
    "pb_order_text(text, text, text)",
    "pb_sku_text(text, text)",
    "pb_pin_params(text)",
    "pb_pin_check(text, text)",
    "pb_pin_rehash(text, text, text)",
    "pb_whoami()",
    "pb_bench_head(text)",
];

/// What a supervisors' console may read: the floor, never a PIN hash.
const CONSOLE_TABLES: &[&str] = &[
    "events",
    "bench_heads",
    "bench_roles",
    "bench_devices",
    "bench_hours",
    "work_hours",
    "claims",
    "claim_grants",
    "checkpoints",
    "alarms",
    "schema_version",
];

/// What a console may call: the review (with the supervisor's PIN), the PIN check for its
/// sign-in, and the read helpers.
const CONSOLE_FUNCTIONS: &[&str] = &[
    "pb_review(text, text, text, text)",
    "pb_pin_params(text)",
    "pb_pin_check(text, text)",
    "pb_pin_rehash(text, text, text)",
    "pb_master_head()",
    "pb_held_orders()",
    "pb_order_text(text, text, text)",
    "pb_sku_text(text, text)",
    "pb_order_units(text)",
    "pb_event_hash(text, bigint, text, text, text, text, text, text)",
    "pb_field(text)",
    "pb_whoami()",
];

/// Master data every bench and console reads; `employees` only without `pin_hash`.
const MASTER_TABLES: &[&str] = &["skus", "orders", "packaging"];
const EMPLOYEE_COLUMNS: &str = "id, name, roles, badge, active, change_id";

/// The roles of one database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Groups {
    /// NOLOGIN; owns the schema and everything in it.
    pub owner: String,
    /// NOLOGIN; every bench's role is a member.
    pub bench: String,
    /// NOLOGIN; every console's role is a member.
    pub console: String,
}

impl Groups {
    /// `pb_<db>_owner`, `pb_<db>_bench`, `pb_<db>_console`; a database name too long for
    /// PostgreSQL's 63-byte names is shortened and marked with a hash of the whole name, so
    /// two long names never share roles.
    pub fn for_database(db: &str) -> Groups {
        let name = |suffix: &str| {
            let full = format!("pb_{db}_{suffix}");
            if full.len() <= 63 {
                return full;
            }
            use sha2::Digest;
            let tag = hex::encode(&sha2::Sha256::digest(db.as_bytes())[..4]);
            let room = 63 - ("pb_".len() + 1 + tag.len() + 1 + suffix.len());
            let mut cut = room;
            while !db.is_char_boundary(cut) {
                cut -= 1;
            }
            format!("pb_{}_{tag}_{suffix}", &db[..cut])
        };
        Groups {
            owner: name("owner"),
            bench: name("bench"),
            console: name("console"),
        }
    }
}

/// An SQL identifier, quoted.
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// An SQL string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// What [`prepare`] found.
#[derive(Debug, Default)]
pub struct Prepared {
    /// A centre of the versions before, moved from `public` into the schema.
    pub moved_from_public: bool,
}

/// What [`apply`] changed that the administrator should hear about.
#[derive(Debug, Default)]
pub struct Applied {
    /// PUBLIC could create in schema `public` (a cluster upgraded from PostgreSQL 14 or
    /// older) and no longer can.
    pub public_create_revoked: bool,
}

/// Before the migrations, in init's transaction: the roles and the schema exist, a centre of
/// the versions before is moved into the schema, and pg_trgm is there (created by the
/// administrator: the owner role may not create extensions).
pub async fn prepare(tx: &Transaction<'_>, g: &Groups) -> Result<Prepared, tokio_postgres::Error> {
    for role in [&g.owner, &g.bench, &g.console] {
        tx.batch_execute(&format!(
            "DO $$ BEGIN
                IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = {lit}) THEN
                    CREATE ROLE {id} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
                END IF;
            END $$;",
            lit = literal(role),
            id = ident(role)
        ))
        .await?;
    }
    // The administrator acts as the owner (creates its tables, imports into them).
    tx.batch_execute(&format!(
        "DO $$ BEGIN
            IF NOT pg_has_role(current_user, {lit}, 'MEMBER') THEN
                EXECUTE format('GRANT %I TO %I', {lit}, current_user);
            END IF;
        END $$;
        CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {owner};",
        lit = literal(&g.owner),
        schema = SCHEMA,
        owner = ident(&g.owner)
    ))
    .await?;
    let legacy: bool = tx
        .query_one(
            "SELECT to_regclass('public.schema_version') IS NOT NULL
                AND to_regclass('packbench.schema_version') IS NULL AS legacy",
            &[],
        )
        .await?
        .get("legacy");
    if legacy {
        let tables = LEGACY_TABLES
            .iter()
            .map(|t| literal(t))
            .collect::<Vec<_>>()
            .join(", ");
        tx.batch_execute(&format!(
            "DO $$ DECLARE r record; BEGIN
                FOR r IN SELECT c.oid::regclass AS t FROM pg_class c
                          WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
                            AND c.relname IN ({tables}) LOOP
                    EXECUTE format('ALTER TABLE %s SET SCHEMA packbench', r.t);
                END LOOP;
                IF to_regclass('public.master_change_seq') IS NOT NULL THEN
                    ALTER SEQUENCE public.master_change_seq SET SCHEMA packbench;
                END IF;
                FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p
                          WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'pb\\_%'
                            AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                              AND d.objid = p.oid AND d.deptype = 'e') LOOP
                    EXECUTE format('ALTER FUNCTION %s SET SCHEMA packbench', r.f);
                END LOOP;
            END $$;"
        ))
        .await?;
        tracing::info!("central schema moved from public into {SCHEMA}");
    }
    tx.batch_execute(&format!(
        "CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA {SCHEMA}"
    ))
    .await?;
    Ok(Prepared {
        moved_from_public: legacy,
    })
}

/// After the migrations and routines, in init's transaction: ownership, search paths,
/// grants, memberships and the database's own settings, from scratch every time.
pub async fn apply(
    tx: &Transaction<'_>,
    g: &Groups,
    db: &str,
) -> Result<Applied, tokio_postgres::Error> {
    let owner = literal(&g.owner);
    // Every table, view and free-standing sequence, every function of ours (not an
    // extension's): owned by the owner role; functions with no SQL-standard body get the
    // safe search path and lose PUBLIC's EXECUTE.
    tx.batch_execute(&format!(
        "DO $$ DECLARE r record; BEGIN
            FOR r IN SELECT c.oid::regclass AS t FROM pg_class c
                      WHERE c.relnamespace = 'packbench'::regnamespace
                        AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                        AND pg_get_userbyid(c.relowner) <> {owner}
                        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                          AND d.objid = c.oid AND d.deptype IN ('a', 'i', 'e')) LOOP
                EXECUTE format('ALTER TABLE %s OWNER TO %I', r.t, {owner});
            END LOOP;
            FOR r IN SELECT p.oid::regprocedure AS f, p.prosqlbody IS NOT NULL AS atomic,
                            pg_get_userbyid(p.proowner) AS own
                       FROM pg_proc p
                      WHERE p.pronamespace = 'packbench'::regnamespace
                        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                                          AND d.objid = p.oid AND d.deptype = 'e') LOOP
                IF r.own <> {owner} THEN
                    EXECUTE format('ALTER FUNCTION %s OWNER TO %I', r.f, {owner});
                END IF;
                IF NOT r.atomic THEN
                    EXECUTE format('ALTER FUNCTION %s SET search_path = {SEARCH_PATH}', r.f);
                END IF;
                EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', r.f);
            END LOOP;
            EXECUTE format('ALTER SCHEMA packbench OWNER TO %I', {owner});
        END $$;"
    ))
    .await?;

    // Groups that no longer belong here: the server-wide group of the versions before, and
    // the groups of the database this one was copied from.
    let mut stale: Vec<String> = vec![LEGACY_BENCH_GROUP.to_string()];
    for r in tx
        .query("SELECT value FROM install WHERE key <> 'owner'", &[])
        .await?
    {
        let v: String = r.get("value");
        if v != g.bench && v != g.console {
            stale.push(v);
        }
    }
    for role in stale {
        let exists: bool = tx
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS found",
                &[&role],
            )
            .await?
            .get("found");
        if exists {
            let r = ident(&role);
            tx.batch_execute(&format!(
                "REVOKE ALL ON ALL TABLES IN SCHEMA {SCHEMA} FROM {r};
                 REVOKE ALL ON ALL SEQUENCES IN SCHEMA {SCHEMA} FROM {r};
                 REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {SCHEMA} FROM {r};
                 REVOKE ALL ON SCHEMA {SCHEMA} FROM {r};
                 REVOKE ALL ON DATABASE {d} FROM {r};",
                d = ident(db)
            ))
            .await?;
        }
    }

    let (bench, console) = (ident(&g.bench), ident(&g.console));
    let list = |fns: &[&str]| fns.join(", ");
    tx.batch_execute(&format!(
        "REVOKE ALL ON SCHEMA {SCHEMA} FROM PUBLIC;
         GRANT USAGE ON SCHEMA {SCHEMA} TO {bench}, {console};
         REVOKE ALL ON ALL TABLES IN SCHEMA {SCHEMA} FROM PUBLIC, {bench}, {console};
         REVOKE ALL ON ALL SEQUENCES IN SCHEMA {SCHEMA} FROM PUBLIC, {bench}, {console};
         REVOKE ALL ON ALL FUNCTIONS IN SCHEMA {SCHEMA} FROM {bench}, {console};
         GRANT SELECT ON {master} TO {bench}, {console};
         GRANT SELECT ({EMPLOYEE_COLUMNS}) ON employees TO {bench}, {console};
         GRANT EXECUTE ON FUNCTION {bench_fns} TO {bench};
         GRANT SELECT ON {console_tables} TO {console};
         GRANT EXECUTE ON FUNCTION {console_fns} TO {console};
         REVOKE ALL ON DATABASE {d} FROM PUBLIC;
         GRANT CONNECT ON DATABASE {d} TO {bench}, {console};
         ALTER DATABASE {d} SET search_path = {SCHEMA};",
        master = MASTER_TABLES.join(", "),
        bench_fns = list(BENCH_FUNCTIONS),
        console_tables = CONSOLE_TABLES.join(", "),
        console_fns = list(CONSOLE_FUNCTIONS),
        d = ident(db),
    ))
    .await?;
    // Every bench and console of this database, including those made before the groups.
    tx.batch_execute(&format!(
        "DO $$ DECLARE r record; BEGIN
            FOR r IN SELECT b.role_name FROM bench_roles b JOIN pg_roles p ON p.rolname = b.role_name LOOP
                EXECUTE format('GRANT %I TO %I', {bl}, r.role_name);
            END LOOP;
            FOR r IN SELECT c.role_name FROM console_roles c JOIN pg_roles p ON p.rolname = c.role_name LOOP
                EXECUTE format('GRANT %I TO %I', {cl}, r.role_name);
            END LOOP;
        END $$;",
        bl = literal(&g.bench),
        cl = literal(&g.console)
    ))
    .await?;

    // PUBLIC may create in `public` on a cluster upgraded from PostgreSQL 14 or older; a
    // function planted there could still catch a careless administrator's session.
    let public_create: bool = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
                             WHERE n.nspname = 'public' AND a.grantee = 0 AND a.privilege_type = 'CREATE') AS granted",
            &[],
        )
        .await?
        .get("granted");
    if public_create {
        tx.batch_execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            .await?;
        tracing::warn!(
            db,
            "revoked CREATE on schema public from PUBLIC: no database user may create objects there any more"
        );
    }
    for (k, v) in [
        ("owner", &g.owner),
        ("bench", &g.bench),
        ("console", &g.console),
    ] {
        tx.execute(
            "INSERT INTO install (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&k, v],
        )
        .await?;
    }
    Ok(Applied {
        public_create_revoked: public_create,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_named_for_the_database_and_fit_postgres_names() {
        let g = Groups::for_database("warehouse_sh");
        assert_eq!(g.owner, "pb_warehouse_sh_owner");
        assert_eq!(g.bench, "pb_warehouse_sh_bench");
        assert_eq!(g.console, "pb_warehouse_sh_console");
        let long_a = format!("{}a", "仓".repeat(20));
        let long_b = format!("{}b", "仓".repeat(20));
        let (a, b) = (Groups::for_database(&long_a), Groups::for_database(&long_b));
        for n in [&a.owner, &a.bench, &a.console, &b.owner] {
            assert!(n.len() <= 63, "{n} is {} bytes", n.len());
        }
        assert_ne!(a.owner, b.owner, "two long names never share roles");
        assert_eq!(ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(literal("o'k"), "'o''k'");
    }
}
