//! A real, private, throwaway PostgreSQL for tests (`mod pg;` in a test file).
//!
//! - [`shared()`]: one cluster per test binary, started on first use (about a second), with a
//!   template database `tmpl` holding the migrated central schema; [`Cluster::fresh_db`]
//!   gives each test its own database copied from it.
//! - [`Cluster::start`]: a private cluster for tests that stop, crash or restart the server.
//! - [`Proxy`]: a TCP proxy in front of a cluster that can stall, drop every connection and
//!   heal, for partition tests.
//!
//! The server listens on a unix socket in its own directory (no TCP port unless asked for),
//! with `fsync=off`. Every cluster is stopped when its owner drops it and, for the shared one
//! and any left over by a panic, at process exit (`atexit`); a cluster left by a run that was
//! killed outright is stopped and removed by the next run. Without PostgreSQL's server
//! binaries the rig fails naming the package to install: it never skips.
#![allow(dead_code)]

pub mod events;
// The one fixture loader (`tests/common`), for the binaries that take `tests/pg` alone.
#[path = "../common/fixtures.rs"]
#[allow(clippy::duplicate_mod)]
pub mod fixture_files;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UnixStream};
use tokio::sync::watch;

const ROOT: &str = "/tmp/packbench-pg";

/// The directory holding `initdb`, `pg_ctl` and `postgres`: `pg_config --bindir`, else the
/// highest version under `/usr/lib/postgresql/*/bin`.
pub fn bindir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
            let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            if out.status.success() && dir.join("initdb").exists() && dir.join("pg_ctl").exists()
            {
                return dir;
            }
        }
        let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let v: u32 = e.file_name().to_str()?.parse().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").exists().then_some((v, bin))
            })
            .collect();
        found.sort();
        match found.pop() {
            Some((_, bin)) => bin,
            None => panic!(
                "PostgreSQL server binaries (initdb, pg_ctl) not found: install them with `apt-get install postgresql`"
            ),
        }
    })
    .clone()
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// A PostgreSQL tool, as the `postgres` user when we are root (initdb refuses root).
fn pg_cmd(tool: &str) -> Command {
    let path = bindir().join(tool);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    }
}

fn run(mut c: Command, what: &str) {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {c:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{what} failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn chown_postgres(p: &Path) {
    if is_root() {
        run(
            {
                let mut c = Command::new("chown");
                c.arg("-R").arg("postgres:postgres").arg(p);
                c
            },
            "chown",
        );
    }
}

fn pid_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks the pid exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// Clusters to stop at process exit (the shared one never drops; a panicking test may not).
static LIVE: Mutex<Vec<(PathBuf, PathBuf)>> = Mutex::new(Vec::new());

extern "C" fn stop_all_at_exit() {
    let live = std::mem::take(&mut *LIVE.lock().unwrap_or_else(|e| e.into_inner()));
    for (data, base) in live {
        stop_and_remove(&data, &base);
    }
}

fn stop_and_remove(data: &Path, base: &Path) {
    if data.join("postmaster.pid").exists() {
        let _ = pg_cmd("pg_ctl")
            .arg("-D")
            .arg(data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
    let _ = std::fs::remove_dir_all(base);
}

/// The run's name prefix: a hash of the test executable's path, so two worktrees (or two
/// test binaries) never touch each other's clusters.
fn exe_tag() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let h = Sha256::digest(exe.to_string_lossy().as_bytes());
    let name = exe
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let short: String = name.chars().take(12).collect();
    format!("{short}-{}", &hex::encode(h)[..10])
}

/// Stops and removes clusters of this test binary left by runs that no longer exist.
fn clean_stale(tag: &str) {
    let Ok(dir) = std::fs::read_dir(ROOT) else {
        return;
    };
    for e in dir.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&format!("{tag}-")) else {
            continue;
        };
        let pid: i32 = rest
            .split('-')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        if pid > 0 && !pid_alive(pid) {
            stop_and_remove(&e.path().join("data"), &e.path());
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Also listen on 127.0.0.1 (a free port); otherwise only the unix socket.
    pub tcp: bool,
    /// TLS on TCP, with a certificate for `localhost` from a test CA ([`Cluster::ca_cert`]).
    pub ssl: bool,
}

/// A throwaway certificate authority in `dir`: `NAME.crt` and `NAME.key` (EC P-256).
pub fn make_ca(dir: &Path, name: &str) -> PathBuf {
    let crt = dir.join(format!("{name}.crt"));
    let mut c = openssl();
    c.args([
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ])
    .arg("-keyout")
    .arg(dir.join(format!("{name}.key")))
    .arg("-out")
    .arg(&crt)
    .args(["-days", "2", "-subj", &format!("/CN={name}")])
    .args(["-addext", "basicConstraints=critical,CA:TRUE"])
    .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    run(c, "openssl (test CA)");
    crt
}

fn openssl() -> Command {
    if Command::new("openssl").arg("version").output().is_err() {
        panic!("openssl not found (the TLS tests make their certificates with it): install it with `apt-get install openssl`");
    }
    Command::new("openssl")
}

/// A server certificate for `localhost` signed by the CA `ca` in `dir`.
fn make_server_cert(dir: &Path, ca: &str) -> (PathBuf, PathBuf) {
    let key = dir.join("server.key");
    let csr = dir.join("server.csr");
    let crt = dir.join("server.crt");
    let ext = dir.join("server.ext");
    let mut c = openssl();
    c.args([
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ])
    .arg("-keyout")
    .arg(&key)
    .arg("-out")
    .arg(&csr)
    .args(["-subj", "/CN=localhost"]);
    run(c, "openssl (server key)");
    std::fs::write(
        &ext,
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let mut c = openssl();
    c.args(["x509", "-req", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(&csr)
        .arg("-CA")
        .arg(dir.join(format!("{ca}.crt")))
        .arg("-CAkey")
        .arg(dir.join(format!("{ca}.key")))
        .arg("-out")
        .arg(&crt)
        .arg("-extfile")
        .arg(&ext);
    run(c, "openssl (server certificate)");
    (crt, key)
}

/// A running throwaway cluster.
pub struct Cluster {
    pub base: PathBuf,
    pub data: PathBuf,
    pub port: u16,
    pub tcp: bool,
    pub ssl: bool,
    pub password: String,
    template_ready: AtomicBool,
    next_db: AtomicU32,
}

static SERIAL: AtomicU32 = AtomicU32::new(0);

impl Cluster {
    /// initdb + pg_ctl start: a new cluster in its own directory under /tmp/packbench-pg.
    pub fn start(opts: Options) -> Cluster {
        static ONCE: OnceLock<()> = OnceLock::new();
        let tag = exe_tag();
        ONCE.get_or_init(|| {
            clean_stale(&tag);
            // SAFETY: registering a plain extern "C" fn.
            unsafe {
                libc::atexit(stop_all_at_exit);
            }
        });
        let _ = std::fs::create_dir_all(ROOT);
        // Every user must reach their cluster's directory inside it.
        let _ = Command::new("chmod").arg("1777").arg(ROOT).output();
        let base = PathBuf::from(ROOT).join(format!(
            "{tag}-{}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).expect("cluster directory");
        let data = base.join("data");
        let password = format!(
            "pw{:x}",
            Sha256::digest(base.to_string_lossy().as_bytes())[0..8]
                .iter()
                .fold(0u64, |a, b| a << 8 | *b as u64)
        );
        std::fs::write(base.join("pwfile"), format!("{password}\n")).expect("password file");
        chown_postgres(&base);
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((data.clone(), base.clone()));
        let mut c = pg_cmd("initdb");
        c.arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "-A",
                "scram-sha-256",
                "--no-sync",
                "-E",
                "UTF8",
            ])
            .args(["--locale=C.UTF-8", "--no-instructions"])
            .arg(format!("--pwfile={}", base.join("pwfile").display()));
        run(c, "initdb");
        let port = if opts.tcp {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
            l.local_addr().unwrap().port()
        } else {
            5432
        };
        if opts.ssl {
            assert!(opts.tcp, "TLS needs TCP");
            let tls = base.join("tls");
            std::fs::create_dir_all(&tls).unwrap();
            make_ca(&tls, "ca");
            make_server_cert(&tls, "ca");
            chown_postgres(&tls);
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                tls.join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
        }
        let cluster = Cluster {
            base,
            data,
            port,
            tcp: opts.tcp,
            ssl: opts.ssl,
            password,
            template_ready: AtomicBool::new(false),
            next_db: AtomicU32::new(1),
        };
        cluster.start_server();
        // Set up as a cluster upgraded from PostgreSQL 14 is: PUBLIC may create in schema
        // `public` of every new database (template1), which `central init` must undo.
        let mut c = pg_cmd("psql");
        c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&cluster.base)
            .args([
                "-p",
                &cluster.port.to_string(),
                "-U",
                "postgres",
                "-d",
                "template1",
                "-c",
            ])
            .arg("GRANT CREATE ON SCHEMA public TO PUBLIC")
            .env("PGPASSWORD", &cluster.password);
        run(c, "psql (PUBLIC may create in public)");
        cluster
    }

    fn start_server(&self) {
        let listen = if self.tcp { "127.0.0.1" } else { "" };
        let mut opts = format!(
            "-k {} -c listen_addresses='{listen}' -p {} -c fsync=off -c synchronous_commit=off \
             -c full_page_writes=off -c max_connections=300 -c shared_buffers=32MB",
            self.base.display(),
            self.port
        );
        if self.ssl {
            let tls = self.base.join("tls");
            opts.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                tls.join("server.crt").display(),
                tls.join("server.key").display()
            ));
        }
        let mut c = pg_cmd("pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(self.base.join("log"))
            .args(["-w", "-t", "30", "-o", &opts, "start"]);
        run(c, "pg_ctl start");
    }

    /// Starts the server again after [`Cluster::stop_immediate`].
    pub fn start_again(&self) {
        self.start_server();
    }

    /// A crash of the server: `pg_ctl stop -m immediate`.
    pub fn stop_immediate(&self) {
        let mut c = pg_cmd("pg_ctl");
        c.arg("-D")
            .arg(&self.data)
            .args(["-m", "immediate", "-w", "stop"]);
        run(c, "pg_ctl stop");
    }

    pub fn socket_path(&self) -> PathBuf {
        self.base.join(format!(".s.PGSQL.{}", self.port))
    }

    /// The superuser's URL for database `db` (unix socket).
    pub fn superuser_url(&self, db: &str) -> String {
        format!(
            "postgres://postgres:{}@/{db}?host={}&port={}",
            self.password,
            self.base.display(),
            self.port
        )
    }

    /// The superuser's URL over TCP (only with `Options { tcp: true }`).
    pub fn tcp_url(&self, db: &str) -> String {
        assert!(self.tcp, "this cluster was started without TCP");
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/{db}?sslmode=disable",
            self.password, self.port
        )
    }

    /// The test CA's certificate (with `Options { ssl: true }`).
    pub fn ca_cert(&self) -> PathBuf {
        self.base.join("tls").join("ca.crt")
    }

    /// Creates the template database with the central schema (once).
    fn ensure_template(&self) {
        static LOCK: Mutex<()> = Mutex::new(());
        let _g = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        if self.template_ready.load(Ordering::SeqCst) {
            return;
        }
        let admin = self.superuser_url("postgres");
        let url = self.superuser_url("tmpl");
        // Its own runtime on its own thread: callers may be inside a runtime already.
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                exec(&admin, "CREATE DATABASE tmpl").await;
                packbench::central::init(&url, None)
                    .await
                    .expect("central init on the template");
            });
        })
        .join()
        .expect("template set-up");
        self.template_ready.store(true, Ordering::SeqCst);
    }

    /// A new database with the central schema, for one test.
    pub async fn fresh_db(&self) -> TestDb {
        self.ensure_template();
        let name = format!("t{}", self.next_db.fetch_add(1, Ordering::SeqCst));
        // The template may not be in use while it is copied; only set-up ever connects to it.
        exec(
            &self.superuser_url("postgres"),
            &format!("CREATE DATABASE {name} TEMPLATE tmpl"),
        )
        .await;
        // A copy keeps the template's roles and grants: init gives it its own (and the
        // `CONNECT` only its own benches have), as it does for any copied database.
        let url = self.superuser_url(&name);
        packbench::central::init(&url, None)
            .await
            .expect("central init on the copy");
        TestDb { url, name }
    }

    /// An empty database (no schema), for `init` itself.
    pub async fn empty_db(&self) -> TestDb {
        let name = format!("e{}", self.next_db.fetch_add(1, Ordering::SeqCst));
        exec(
            &self.superuser_url("postgres"),
            &format!("CREATE DATABASE {name}"),
        )
        .await;
        TestDb {
            url: self.superuser_url(&name),
            name,
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        stop_and_remove(&self.data, &self.base);
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(_, b)| b != &self.base);
    }
}

/// The test binary's shared cluster (unix socket only).
pub fn shared() -> &'static Cluster {
    static SHARED: OnceLock<Cluster> = OnceLock::new();
    SHARED.get_or_init(|| Cluster::start(Options::default()))
}

/// A fresh database in the shared cluster.
pub async fn fresh_db() -> TestDb {
    shared().fresh_db().await
}

pub struct TestDb {
    pub name: String,
    /// Superuser URL.
    pub url: String,
}

/// Runs SQL as given on a throwaway connection (test set-up and attacks only).
pub async fn exec(url: &str, sql: &str) {
    let client = connect(url).await;
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
}

/// A plain client; its connection is driven by a spawned task.
pub async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

/// Like [`connect`] but returns the error.
pub async fn try_connect(url: &str) -> Result<tokio_postgres::Client, tokio_postgres::Error> {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

// ---------------------------------------------------------------------------------------
// A TCP proxy for partitions.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Pass,
    Stall,
    Down,
}

#[derive(Debug, Clone, Copy)]
struct State {
    mode: Mode,
    /// Bumped by drop_all: connections from an older epoch close.
    epoch: u64,
    delay: Duration,
}

/// 127.0.0.1:PORT → the cluster's unix socket.
pub struct Proxy {
    pub port: u16,
    state: watch::Sender<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.drop_all();
    }
}

impl Proxy {
    pub async fn start(upstream: PathBuf) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy port");
        let port = listener.local_addr().unwrap().port();
        let (state, rx) = watch::channel(State {
            mode: Mode::Pass,
            epoch: 0,
            delay: Duration::ZERO,
        });
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let s = *rx.borrow();
                if s.mode == Mode::Down {
                    drop(client);
                    continue;
                }
                tokio::spawn(serve(client, upstream.clone(), rx.clone(), s.epoch));
            }
        });
        Proxy { port, state, task }
    }

    /// Bytes stop flowing both ways (connections stay open, new ones hang).
    pub fn stall(&self) {
        self.state.send_modify(|s| s.mode = Mode::Stall);
    }

    /// Every connection is cut and new ones are refused until [`Proxy::heal`].
    pub fn drop_all(&self) {
        self.state.send_modify(|s| {
            s.mode = Mode::Down;
            s.epoch += 1;
        });
    }

    pub fn heal(&self) {
        self.state.send_modify(|s| s.mode = Mode::Pass);
    }

    /// Adds this much latency to every chunk in each direction.
    pub fn delay(&self, d: Duration) {
        self.state.send_modify(|s| s.delay = d);
    }

    /// A URL through the proxy for `user:password` on database `db`.
    pub fn url(&self, user: &str, password: &str, db: &str) -> String {
        format!(
            "postgres://{user}:{password}@127.0.0.1:{}/{db}?sslmode=disable",
            self.port
        )
    }
}

async fn wait_pass(rx: &mut watch::Receiver<State>, epoch: u64) -> Option<Duration> {
    loop {
        let s = *rx.borrow_and_update();
        if s.epoch != epoch || s.mode == Mode::Down {
            return None;
        }
        if s.mode == Mode::Pass {
            return Some(s.delay);
        }
        rx.changed().await.ok()?;
    }
}

async fn pump<R, W>(mut r: R, mut w: W, mut rx: watch::Receiver<State>, epoch: u64)
where
    R: tokio::io::AsyncRead + Unpin,
    W: tokio::io::AsyncWrite + Unpin,
{
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let Some(delay) = wait_pass(&mut rx, epoch).await else {
            return;
        };
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if w.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

async fn serve(client: TcpStream, upstream: PathBuf, mut rx: watch::Receiver<State>, epoch: u64) {
    if wait_pass(&mut rx, epoch).await.is_none() {
        return;
    }
    let Ok(up) = UnixStream::connect(&upstream).await else {
        return;
    };
    let (cr, cw) = client.into_split();
    let (ur, uw) = up.into_split();
    let mut killed = rx.clone();
    tokio::select! {
        _ = pump(cr, uw, rx.clone(), epoch) => {}
        _ = pump(ur, cw, rx.clone(), epoch) => {}
        _ = async {
            loop {
                if killed.changed().await.is_err() { return; }
                let s = *killed.borrow();
                if s.epoch != epoch { return; }
            }
        } => {}
    }
}

/// Waits until `f` returns true, polling every 20 ms, or panics after `within`.
pub async fn eventually<F, Fut>(within: Duration, what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = tokio::time::Instant::now() + within;
    loop {
        if f().await {
            return;
        }
        if tokio::time::Instant::now() > end {
            panic!("not within {within:?}: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
