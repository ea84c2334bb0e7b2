//! `sslmode` as libpq means it, against a real PostgreSQL with TLS on (a test CA's certificate
//! for `localhost`), with this crate's stricter defaults: `verify-full` off this machine,
//! `sslrootcert=system` only with `verify-full`, and a password file that is its owner's alone.

mod pg;

use packbench::central::{self, Central, ClaimOutcome};

/// Connections of `app` to `db` that use TLS, and that do not.
async fn tls_sessions(admin_url: &str, db: &str, app: &str) -> (i64, i64) {
    let r = pg::connect(admin_url)
        .await
        .query_one(
            "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl)
             FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid)
             WHERE a.datname = $1 AND a.application_name = $2",
            &[&db, &app],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1))
}

#[tokio::test]
async fn sslmodes_are_honoured() {
    let cluster = pg::Cluster::start(pg::Options {
        tcp: true,
        ssl: true,
    });
    let db = cluster.fresh_db().await;
    let admin = cluster.superuser_url("postgres");
    let ca = cluster.ca_cert();
    let other_dir = tempfile::tempdir().unwrap();
    let other_ca = pg::make_ca(other_dir.path(), "other");
    let url = |host: &str, app: &str, q: &str| {
        format!(
            "postgres://postgres:{}@{host}:{}/{}?application_name={app}&{q}",
            cluster.password, cluster.port, db.name
        )
    };
    let root = format!("sslrootcert={}", ca.display());
    let wrong_root = format!("sslrootcert={}", other_ca.display());

    let works = [
        (
            "127.0.0.1",
            "m-disable",
            "sslmode=disable".to_string(),
            false,
        ),
        ("127.0.0.1", "m-default", String::new(), true),
        ("127.0.0.1", "m-prefer", "sslmode=prefer".to_string(), true),
        (
            "127.0.0.1",
            "m-require",
            "sslmode=require".to_string(),
            true,
        ),
        (
            "127.0.0.1",
            "m-require-root",
            format!("sslmode=require&{root}"),
            true,
        ),
        (
            "127.0.0.1",
            "m-verify-ca",
            format!("sslmode=verify-ca&{root}"),
            true,
        ),
        (
            "localhost",
            "m-verify-full",
            format!("sslmode=verify-full&{root}"),
            true,
        ),
        // `localhost` is this machine: the default stays `prefer`.
        ("localhost", "m-default-localhost", String::new(), true),
        // A name that is not this machine (reached through hostaddr, so without DNS): an
        // explicit weaker mode is honoured.
        (
            "db.example",
            "m-remote-verify-ca",
            format!("hostaddr=127.0.0.1&sslmode=verify-ca&{root}"),
            true,
        ),
    ];
    for (host, app, q, encrypted) in works {
        let c = Central::connect(&url(host, app, &q), None).unwrap();
        c.master_head()
            .await
            .unwrap_or_else(|e| panic!("{app}: {e}"));
        let (tls, plain) = tls_sessions(&admin, &db.name, app).await;
        assert_eq!(
            (tls > 0, plain > 0),
            (encrypted, !encrypted),
            "{app}: {tls} TLS and {plain} plain connections"
        );
    }

    let wrong_name = |host: &str| {
        format!("the server's certificate is not valid for host {host}: it names localhost")
    };
    let wrong_ca = |mode: &str| {
        format!(
            "is not signed by the root certificate(s) in {} (sslmode={mode})",
            other_ca.display()
        )
    };
    let refused = [
        // The certificate names localhost, not 127.0.0.1.
        (
            "127.0.0.1",
            "m-full-wrong-name",
            format!("sslmode=verify-full&{root}"),
            wrong_name("127.0.0.1"),
        ),
        // No sslmode, and a host that is not this machine: verify-full, so the name counts.
        (
            "db.example",
            "m-remote-default",
            format!("hostaddr=127.0.0.1&{root}"),
            wrong_name("db.example"),
        ),
        (
            "localhost",
            "m-full-wrong-ca",
            format!("sslmode=verify-full&{wrong_root}"),
            wrong_ca("verify-full"),
        ),
        (
            "127.0.0.1",
            "m-ca-wrong-ca",
            format!("sslmode=verify-ca&{wrong_root}"),
            wrong_ca("verify-ca"),
        ),
        (
            "127.0.0.1",
            "m-require-wrong-ca",
            format!("sslmode=require&{wrong_root}"),
            wrong_ca("require"),
        ),
    ];
    for (host, app, q, why) in refused {
        let c = Central::connect(&url(host, app, &q), None).unwrap();
        let err = c.master_head().await.expect_err(app);
        let msg = err.to_string();
        assert!(err.is_unreachable(), "{app}: {err:?}");
        assert!(msg.contains(&format!("/{}", db.name)), "{app}: {msg}");
        // Said once: the driver's error chain must not repeat it.
        assert_eq!(msg.matches(&why).count(), 1, "{app}: {msg}");
        eprintln!("{app}: {msg}");
        assert!(!msg.contains(&cluster.password), "{app}: {msg}");
        // Refused in the handshake: the server never saw a session of it.
        assert_eq!(tls_sessions(&admin, &db.name, app).await, (0, 0), "{app}");
    }

    // The system's roots vouch for any name they signed: only with verify-full (libpq 16).
    for weak in ["require", "verify-ca", "prefer"] {
        let err = Central::connect(
            &url(
                "localhost",
                "m-system",
                &format!("sslmode={weak}&sslrootcert=system"),
            ),
            None,
        )
        .expect_err(weak)
        .to_string();
        assert!(
            err.contains(&format!(
                "sslmode={weak} may not be used with sslrootcert=system: use sslmode=verify-full"
            )),
            "{err}"
        );
    }

    // A bench added through a verified connection gets a URL that verifies the same way.
    let admin_tls = url(
        "localhost",
        "m-admin",
        &format!("sslmode=verify-full&{root}"),
    );
    let added = central::add_bench(&admin_tls, None, &format!("tls-{}", db.name))
        .await
        .unwrap();
    assert!(added.url.contains("sslmode=verify-full"), "{}", added.url);
    let bench = Central::connect(&added.url, None).unwrap();
    assert!(matches!(
        bench
            .claim(&added.station_id, "O1", None, None)
            .await
            .unwrap(),
        ClaimOutcome::Granted { .. }
    ));
    // The password can come from a file instead of the URL: one that is its owner's alone.
    use std::os::unix::fs::PermissionsExt;
    let pw = other_dir.path().join("bench.pass");
    std::fs::write(&pw, format!("{}\n", added.password)).unwrap();
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let no_pw = added.url.replace(&format!(":{}@", added.password), "@");
    assert_ne!(no_pw, added.url);
    let bench = Central::connect(&no_pw, Some(&pw)).unwrap();
    assert!(bench.master_head().await.is_ok());
    // Readable by others, as a plain write leaves it under umask 022: refused, with the fix.
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Central::connect(&no_pw, Some(&pw))
        .expect_err("a password file others may read")
        .to_string();
    assert!(
        err.contains(&format!(
            "password file {} may be read by group or others (mode 0644)",
            pw.display()
        )) && err.contains(&format!("chmod 600 {}", pw.display())),
        "{err}"
    );
    assert!(!err.contains(&added.password), "{err}");
}
