//! `sslmode` as libpq means it, against a real PostgreSQL with TLS on (a test CA's certificate
//! for `localhost`).

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

    let refused = [
        // The certificate names localhost, not 127.0.0.1.
        (
            "127.0.0.1",
            "m-full-wrong-name",
            format!("sslmode=verify-full&{root}"),
        ),
        (
            "localhost",
            "m-full-wrong-ca",
            format!("sslmode=verify-full&{wrong_root}"),
        ),
        (
            "127.0.0.1",
            "m-ca-wrong-ca",
            format!("sslmode=verify-ca&{wrong_root}"),
        ),
        (
            "127.0.0.1",
            "m-require-wrong-ca",
            format!("sslmode=require&{wrong_root}"),
        ),
    ];
    for (host, app, q) in refused {
        let c = Central::connect(&url(host, app, &q), None).unwrap();
        let err = c.master_head().await.expect_err(app);
        let msg = err.to_string();
        assert!(err.is_unreachable(), "{app}: {err:?}");
        assert!(msg.contains(&format!("/{}", db.name)), "{app}: {msg}");
        assert!(msg.to_lowercase().contains("certificate"), "{app}: {msg}");
        assert!(!msg.contains(&cluster.password), "{app}: {msg}");
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
    // The password can come from a file instead of the URL.
    let pw = other_dir.path().join("bench.pass");
    std::fs::write(&pw, format!("{}\n", added.password)).unwrap();
    let no_pw = added.url.replace(&format!(":{}@", added.password), "@");
    assert_ne!(no_pw, added.url);
    let bench = Central::connect(&no_pw, Some(&pw)).unwrap();
    assert!(bench.master_head().await.is_ok());
}
