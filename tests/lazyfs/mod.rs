//! A lazy filesystem for the power-cut harness (`tests/power.rs`): a FUSE passthrough over a
//! backing folder that keeps every write not yet `fsync`ed in memory, the way a disk's cache
//! and the kernel's page cache hold it before a power cut, and drops all of it on `cut()`.
//!
//! What is lazy and what is not:
//! - File **data and sizes** (write, truncate) are pending per file until an `fsync` or
//!   `fdatasync` of that file; reads see them. `cut()` forgets every pending write.
//! - `flush` and `release` (close) make nothing durable: a closed file loses its unsynced
//!   writes at a cut, as on a real disk.
//! - **Names** (create, unlink, rename, mkdir) go to the backing folder at once, so they are
//!   durable without a directory `fsync`. That is kinder than a real disk; SQLite in WAL mode
//!   never relies on a name being lost or kept except for the WAL and `-shm` files, which it
//!   handles whether or not they survive. The harness tests the data path.
//! - An unlinked file's pending writes are dropped with it.
//!
//! Every file is opened with `direct_io`, so each write(2) reaches this filesystem before it
//! returns and no page cache holds data this filesystem forgot, except SQLite's `-shm` file:
//! SQLite maps it shared, which needs the page cache. Its content is the WAL's index, rebuilt
//! from the WAL by the first connection after a crash, so it is never trusted for durability.
//! Attributes and entries have a zero TTL, so sizes are always asked of this filesystem.
//!
//! Writes and fsyncs can be given a latency (`set_latency`), so that cuts land inside commits.
//!
//! It runs in the test process on fuser's background thread and mounts with mount(2)
//! directly (root with CAP_SYS_ADMIN): no fusermount, no libfuse.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{
    AccessFlags, BackgroundSession, Config, Errno, FileAttr, FileHandle, FileType, Filesystem,
    FopenFlags, Generation, INodeNo, LockOwner, MountOption, OpenFlags, RenameFlags, ReplyAttr,
    ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs,
    ReplyWrite, Request, TimeOrNow, WriteFlags,
};

/// Zero: the kernel asks again every time, so nothing it cached outlives a cut.
const TTL: Duration = Duration::ZERO;

/// A change to a file's data not yet made durable.
#[derive(Debug, Clone)]
enum Op {
    Write { at: u64, data: Vec<u8> },
    Truncate { len: u64 },
}

/// What a cut dropped, or what is pending now.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    pub files: u64,
    pub writes: u64,
    pub truncates: u64,
    pub bytes: u64,
    /// Of `bytes`, those to SQLite's `-shm` index (not data: see the module's doc).
    pub shm_bytes: u64,
}

impl Dropped {
    pub fn add(&mut self, o: &Dropped) {
        self.files += o.files;
        self.writes += o.writes;
        self.truncates += o.truncates;
        self.bytes += o.bytes;
        self.shm_bytes += o.shm_bytes;
    }
}

/// Running totals since the mount.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    pub writes: u64,
    pub bytes_written: u64,
    pub fsyncs: u64,
    /// Bytes made durable by fsyncs.
    pub bytes_synced: u64,
    pub cuts: u64,
    pub dropped: Dropped,
}

#[derive(Default)]
struct State {
    /// Inode → path relative to the backing folder ("" is the root).
    paths: HashMap<u64, PathBuf>,
    inos: HashMap<PathBuf, u64>,
    next_ino: u64,
    /// Open handles: the backing file, opened read-write.
    handles: HashMap<u64, (u64, Arc<File>)>,
    next_fh: u64,
    /// Per inode, its pending changes in order.
    pending: HashMap<u64, Vec<Op>>,
    /// Inodes whose name is gone (unlinked, or replaced by a rename) while a handle may still
    /// be open: nothing of them survives a cut, so their writes go straight to the backing
    /// file (for the reads through that handle) and are never pending.
    orphans: std::collections::HashSet<u64>,
    totals: Totals,
}

impl State {
    /// A file lost its name. Its pending changes are applied to the (unlinked) backing file
    /// only through open handles, so this drops them: nothing of the file survives a cut.
    fn orphan(&mut self, ino: u64) {
        self.paths.remove(&ino);
        self.pending.remove(&ino);
        self.orphans.insert(ino);
    }
}

struct Lazy {
    backing: PathBuf,
    state: Arc<Mutex<State>>,
    write_delay_us: Arc<AtomicU64>,
    fsync_delay_us: Arc<AtomicU64>,
}

/// The mounted filesystem; unmounted on drop.
pub struct LazyFs {
    state: Arc<Mutex<State>>,
    write_delay_us: Arc<AtomicU64>,
    fsync_delay_us: Arc<AtomicU64>,
    session: Option<BackgroundSession>,
}

fn lock(s: &Mutex<State>) -> MutexGuard<'_, State> {
    // A panicking FUSE handler must not hide the test's own failure behind a poisoned lock.
    s.lock().unwrap_or_else(|e| e.into_inner())
}

impl LazyFs {
    /// Mounts a lazy view of `backing` on `mountpoint` (both existing folders). Fails with a
    /// sentence saying what is missing: this harness never skips.
    pub fn mount(backing: &Path, mountpoint: &Path) -> Result<LazyFs, String> {
        if !Path::new("/dev/fuse").exists() {
            return Err("/dev/fuse is missing: the power-cut harness needs FUSE \
                        (load the fuse module, or run the container with --device /dev/fuse)"
                .into());
        }
        let state = Arc::new(Mutex::new(State {
            next_ino: 2,
            next_fh: 1,
            ..State::default()
        }));
        {
            let mut s = lock(&state);
            s.paths.insert(1, PathBuf::new());
            s.inos.insert(PathBuf::new(), 1);
        }
        let write_delay_us = Arc::new(AtomicU64::new(0));
        let fsync_delay_us = Arc::new(AtomicU64::new(0));
        let fs = Lazy {
            backing: backing.to_path_buf(),
            state: state.clone(),
            write_delay_us: write_delay_us.clone(),
            fsync_delay_us: fsync_delay_us.clone(),
        };
        let mut config = Config::default();
        config.mount_options = vec![
            MountOption::FSName("packbench-lazyfs".into()),
            MountOption::NoDev,
            MountOption::NoSuid,
        ];
        let session = fuser::spawn_mount(fs, mountpoint, &config).map_err(|e| {
            format!(
                "mounting the lazy filesystem on {} failed: {e} (the power-cut harness mounts \
                 FUSE with mount(2) and needs root with CAP_SYS_ADMIN and /dev/fuse)",
                mountpoint.display()
            )
        })?;
        tracing::info!(mountpoint = %mountpoint.display(), "lazy filesystem mounted");
        Ok(LazyFs {
            state,
            write_delay_us,
            fsync_delay_us,
            session: Some(session),
        })
    }

    /// The power cut: every write not yet fsynced is gone. Call it only with every process
    /// that wrote here dead and reaped, so nothing is in flight.
    pub fn cut(&self) -> Dropped {
        let mut s = lock(&self.state);
        let d = pending_of(&s);
        s.pending.clear();
        s.totals.cuts += 1;
        s.totals.dropped.add(&d);
        tracing::debug!(?d, "power cut");
        d
    }

    /// Each write and each fsync takes this long before it is answered, like a disk that is
    /// not instant: a commit's WAL writes then span a window wide enough for a cut to land
    /// before their fsync, and its fsync one for a cut between the commit and the line that
    /// acknowledges it. A killed writer waits for its request's answer (the kernel waits out a
    /// request the filesystem has taken), so none is ever in flight at a cut.
    pub fn set_latency(&self, write: Duration, fsync: Duration) {
        self.write_delay_us
            .store(write.as_micros() as u64, Ordering::Relaxed);
        self.fsync_delay_us
            .store(fsync.as_micros() as u64, Ordering::Relaxed);
    }

    /// What a cut now would drop.
    pub fn pending(&self) -> Dropped {
        pending_of(&lock(&self.state))
    }

    /// What a cut now would drop, per file (path relative to the backing folder).
    pub fn pending_files(&self) -> Vec<(PathBuf, u64, u64)> {
        let s = lock(&self.state);
        s.pending
            .iter()
            .filter(|(_, o)| !o.is_empty())
            .map(|(ino, ops)| {
                let bytes = ops
                    .iter()
                    .map(|o| match o {
                        Op::Write { data, .. } => data.len() as u64,
                        Op::Truncate { .. } => 0,
                    })
                    .sum();
                let path = s.paths.get(ino).cloned().unwrap_or_default();
                (path, ops.len() as u64, bytes)
            })
            .collect()
    }

    pub fn totals(&self) -> Totals {
        lock(&self.state).totals
    }

    pub fn unmount(mut self) -> std::io::Result<()> {
        match self.session.take() {
            Some(s) => s.umount_and_join(),
            None => Ok(()),
        }
    }
}

impl Drop for LazyFs {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            if let Err(e) = s.umount_and_join() {
                tracing::warn!(error = %e, "unmounting the lazy filesystem");
            }
        }
    }
}

fn pending_of(s: &State) -> Dropped {
    let mut d = Dropped::default();
    for (ino, ops) in s.pending.iter().filter(|(_, o)| !o.is_empty()) {
        d.files += 1;
        let shm = s
            .paths
            .get(ino)
            .is_some_and(|p| p.as_os_str().as_bytes().ends_with(b"-shm"));
        for op in ops {
            match op {
                Op::Write { data, .. } => {
                    d.writes += 1;
                    d.bytes += data.len() as u64;
                    if shm {
                        d.shm_bytes += data.len() as u64;
                    }
                }
                Op::Truncate { .. } => d.truncates += 1,
            }
        }
    }
    d
}

/// The size a file has once `ops` are applied over `size` on disk.
fn logical_size(mut size: u64, ops: &[Op]) -> u64 {
    for op in ops {
        size = match op {
            Op::Write { at, data } => size.max(at + data.len() as u64),
            Op::Truncate { len } => *len,
        };
    }
    size
}

fn errno(e: std::io::Error) -> Errno {
    Errno::from(e)
}

impl Lazy {
    fn path_of(&self, ino: INodeNo) -> Result<PathBuf, Errno> {
        lock(&self.state)
            .paths
            .get(&ino.0)
            .cloned()
            .ok_or(Errno::ENOENT)
    }

    fn full(&self, rel: &Path) -> PathBuf {
        self.backing.join(rel)
    }

    /// The inode for a relative path, assigned on first sight.
    fn ino_for(&self, rel: &Path) -> u64 {
        let mut s = lock(&self.state);
        if let Some(&i) = s.inos.get(rel) {
            return i;
        }
        let i = s.next_ino;
        s.next_ino += 1;
        s.inos.insert(rel.to_path_buf(), i);
        s.paths.insert(i, rel.to_path_buf());
        i
    }

    /// The backing file's attributes with the pending size.
    fn attr(&self, ino: u64, rel: &Path) -> Result<FileAttr, Errno> {
        let m = std::fs::symlink_metadata(self.full(rel)).map_err(errno)?;
        let kind = FileType::from_std(m.file_type()).ok_or(Errno::EIO)?;
        let size = match lock(&self.state).pending.get(&ino) {
            Some(ops) => logical_size(m.len(), ops),
            None => m.len(),
        };
        let t = |s: i64, n: i64| UNIX_EPOCH + Duration::new(s.max(0) as u64, n as u32);
        Ok(FileAttr {
            ino: INodeNo(ino),
            size,
            blocks: size.div_ceil(512),
            atime: t(m.atime(), m.atime_nsec()),
            mtime: t(m.mtime(), m.mtime_nsec()),
            ctime: t(m.ctime(), m.ctime_nsec()),
            crtime: SystemTime::UNIX_EPOCH,
            kind,
            perm: (m.mode() & 0o7777) as u16,
            nlink: m.nlink() as u32,
            uid: m.uid(),
            gid: m.gid(),
            rdev: m.rdev() as u32,
            blksize: 4096,
            flags: 0,
        })
    }

    fn child(&self, parent: INodeNo, name: &OsStr) -> Result<PathBuf, Errno> {
        Ok(self.path_of(parent)?.join(name))
    }

    /// Opens the backing file and hands out a handle. `-shm` files keep the page cache (SQLite
    /// maps them shared); every other file is direct I/O.
    fn open_handle(&self, ino: u64, rel: &Path) -> Result<(FileHandle, FopenFlags), Errno> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(self.full(rel))
            .map_err(errno)?;
        let mut s = lock(&self.state);
        let fh = s.next_fh;
        s.next_fh += 1;
        s.handles.insert(fh, (ino, Arc::new(f)));
        let flags = if rel.as_os_str().as_bytes().ends_with(b"-shm") {
            FopenFlags::empty()
        } else {
            FopenFlags::FOPEN_DIRECT_IO
        };
        Ok((FileHandle(fh), flags))
    }

    fn backing_file(&self, fh: FileHandle) -> Result<(u64, Arc<File>), Errno> {
        lock(&self.state)
            .handles
            .get(&fh.0)
            .cloned()
            .ok_or(Errno::EBADF)
    }

    fn push(&self, ino: u64, op: Op, file: Option<&File>) -> Result<(), Errno> {
        let mut s = lock(&self.state);
        if s.orphans.contains(&ino) {
            drop(s);
            if let Some(f) = file {
                match &op {
                    Op::Write { at, data } => f.write_all_at(data, *at).map_err(errno)?,
                    Op::Truncate { len } => f.set_len(*len).map_err(errno)?,
                }
            }
            return Ok(());
        }
        if let Op::Write { data, .. } = &op {
            s.totals.writes += 1;
            s.totals.bytes_written += data.len() as u64;
        }
        s.pending.entry(ino).or_default().push(op);
        Ok(())
    }

    /// Makes a file's pending changes durable: applied to the backing file in order, under
    /// the lock so that a cut comes wholly before or after it.
    fn sync(&self, ino: u64, file: &File) -> Result<(), Errno> {
        let mut s = lock(&self.state);
        let ops = s.pending.remove(&ino).unwrap_or_default();
        let mut bytes = 0;
        for op in &ops {
            match op {
                Op::Write { at, data } => {
                    file.write_all_at(data, *at).map_err(errno)?;
                    bytes += data.len() as u64;
                }
                Op::Truncate { len } => file.set_len(*len).map_err(errno)?,
            }
        }
        s.totals.fsyncs += 1;
        s.totals.bytes_synced += bytes;
        Ok(())
    }

    /// `size` bytes at `at` as the file reads now: the backing bytes with the pending changes
    /// over them in order.
    fn read_at(&self, ino: u64, file: &File, at: u64, size: u32) -> Result<Vec<u8>, Errno> {
        let on_disk = file.metadata().map_err(errno)?.len();
        let ops = lock(&self.state)
            .pending
            .get(&ino)
            .cloned()
            .unwrap_or_default();
        let mut buf = vec![0u8; size as usize];
        let end = at + u64::from(size);
        if at < on_disk {
            let n = (on_disk.min(end) - at) as usize;
            file.read_exact_at(&mut buf[..n], at).map_err(errno)?;
        }
        let mut len = on_disk;
        for op in &ops {
            match op {
                Op::Write { at: w, data } => {
                    let (from, to) = ((*w).max(at), (w + data.len() as u64).min(end));
                    if from < to {
                        buf[(from - at) as usize..(to - at) as usize]
                            .copy_from_slice(&data[(from - w) as usize..(to - w) as usize]);
                    }
                    len = len.max(w + data.len() as u64);
                }
                Op::Truncate { len: l } => {
                    // Bytes past a truncation read as zeros if a later write extends the file.
                    if *l < end {
                        let from = (*l).max(at);
                        buf[(from - at) as usize..].fill(0);
                    }
                    len = *l;
                }
            }
        }
        buf.truncate(len.saturating_sub(at).min(u64::from(size)) as usize);
        Ok(buf)
    }
}

impl Filesystem for Lazy {
    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let r = self.child(parent, name).and_then(|rel| {
            std::fs::symlink_metadata(self.full(&rel)).map_err(errno)?;
            let ino = self.ino_for(&rel);
            self.attr(ino, &rel)
        });
        match r {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.path_of(ino).and_then(|rel| self.attr(ino.0, &rel)) {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        _atime: Option<TimeOrNow>,
        _mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        _fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let r = self.path_of(ino).and_then(|rel| {
            if let Some(m) = mode {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(self.full(&rel), std::fs::Permissions::from_mode(m))
                    .map_err(errno)?;
            }
            if let Some(len) = size {
                self.push(ino.0, Op::Truncate { len }, None)?;
            }
            self.attr(ino.0, &rel)
        });
        match r {
            Ok(a) => reply.attr(&TTL, &a),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        reply: ReplyEntry,
    ) {
        let r = self.child(parent, name).and_then(|rel| {
            std::fs::DirBuilder::new()
                .mode(mode & !umask)
                .create(self.full(&rel))
                .map_err(errno)?;
            let ino = self.ino_for(&rel);
            self.attr(ino, &rel)
        });
        match r {
            Ok(a) => reply.entry(&TTL, &a, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let r = self.child(parent, name).and_then(|rel| {
            std::fs::remove_file(self.full(&rel)).map_err(errno)?;
            let mut s = lock(&self.state);
            if let Some(ino) = s.inos.remove(&rel) {
                s.orphan(ino);
            }
            Ok(())
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let r = self.child(parent, name).and_then(|rel| {
            std::fs::remove_dir(self.full(&rel)).map_err(errno)?;
            let mut s = lock(&self.state);
            if let Some(ino) = s.inos.remove(&rel) {
                s.paths.remove(&ino);
            }
            Ok(())
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        _flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let r = self.child(parent, name).and_then(|from| {
            let to = self.child(newparent, newname)?;
            std::fs::rename(self.full(&from), self.full(&to)).map_err(errno)?;
            let mut s = lock(&self.state);
            // The file replaced at `to`, if any, is gone with its pending writes.
            if let Some(old) = s.inos.remove(&to) {
                s.orphan(old);
            }
            // The renamed entry and, for a folder, everything under it.
            let moved: Vec<(PathBuf, u64)> = s
                .inos
                .iter()
                .filter(|(p, _)| p.starts_with(&from))
                .map(|(p, i)| (p.clone(), *i))
                .collect();
            for (p, i) in moved {
                let np = to.join(p.strip_prefix(&from).unwrap());
                s.inos.remove(&p);
                s.inos.insert(np.clone(), i);
                s.paths.insert(i, np);
            }
            Ok(())
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let r = self.path_of(ino).and_then(|rel| {
            let h = self.open_handle(ino.0, &rel)?;
            // O_TRUNC is a change to the data like any other: lazy.
            if flags.0 & libc::O_TRUNC != 0 {
                self.push(ino.0, Op::Truncate { len: 0 }, None)?;
            }
            Ok(h)
        });
        match r {
            Ok((fh, f)) => reply.opened(fh, f),
            Err(e) => reply.error(e),
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let r = self.child(parent, name).and_then(|rel| {
            std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .mode(mode & !umask)
                .open(self.full(&rel))
                .map_err(errno)?;
            let ino = self.ino_for(&rel);
            let h = self.open_handle(ino, &rel)?;
            if flags & libc::O_TRUNC != 0 {
                self.push(ino, Op::Truncate { len: 0 }, None)?;
            }
            Ok((self.attr(ino, &rel)?, h))
        });
        match r {
            Ok((a, (fh, f))) => reply.created(&TTL, &a, Generation(0), fh, f),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self
            .backing_file(fh)
            .and_then(|(ino, f)| self.read_at(ino, &f, offset, size))
        {
            Ok(b) => reply.data(&b),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let r = self.backing_file(fh).and_then(|(ino, f)| {
            let op = Op::Write {
                at: offset,
                data: data.to_vec(),
            };
            self.push(ino, op, Some(&f))
        });
        let delay = self.write_delay_us.load(Ordering::Relaxed);
        if delay > 0 {
            std::thread::sleep(Duration::from_micros(delay));
        }
        match r {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(e),
        }
    }

    /// Closing makes nothing durable.
    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        lock(&self.state).handles.remove(&fh.0);
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let r = self
            .backing_file(fh)
            .and_then(|(ino, f)| self.sync(ino, &f));
        let delay = self.fsync_delay_us.load(Ordering::Relaxed);
        if delay > 0 {
            std::thread::sleep(Duration::from_micros(delay));
        }
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    /// Names are durable at once (see the module's doc), so a folder's fsync has nothing to do.
    fn fsyncdir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        reply.ok();
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let rel = match self.path_of(ino) {
            Ok(r) => r,
            Err(e) => return reply.error(e),
        };
        let mut entries = vec![
            (ino.0, FileType::Directory, OsStr::new(".").to_os_string()),
            (ino.0, FileType::Directory, OsStr::new("..").to_os_string()),
        ];
        let rd = match std::fs::read_dir(self.full(&rel)) {
            Ok(rd) => rd,
            Err(e) => return reply.error(errno(e)),
        };
        for e in rd.flatten() {
            let Ok(t) = e.file_type() else { continue };
            let Some(kind) = FileType::from_std(t) else {
                continue;
            };
            let i = self.ino_for(&rel.join(e.file_name()));
            entries.push((i, kind, e.file_name()));
        }
        for (n, (i, kind, name)) in entries.into_iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(i), n as u64 + 1, kind, &name) {
                break;
            }
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        reply.statfs(1 << 24, 1 << 23, 1 << 23, 1 << 20, 1 << 19, 4096, 255, 4096);
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: AccessFlags, reply: ReplyEmpty) {
        reply.ok();
    }

    /// No preallocation: callers (glibc's posix_fallocate) fall back to writes, which are lazy.
    fn fallocate(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _offset: u64,
        _length: u64,
        _mode: i32,
        reply: ReplyEmpty,
    ) {
        reply.error(Errno::EOPNOTSUPP);
    }
}
