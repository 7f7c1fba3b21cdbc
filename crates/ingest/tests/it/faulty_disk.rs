//! Small real filesystems that run out of space on demand, for tests of what the WAL does when
//! the kernel refuses a write or an fsync. Real kernel failures rather than a mock: the error
//! comes from where it would in production, through the same system calls.
//!
//! - [`SmallTmpfs`]: a tmpfs of a few MiB. Once a [`Filler`] takes its free space, `write`
//!   fails with `ENOSPC`.
//! - [`SyncFailingDisk`]: ext4 (no journal, `errors=continue`) on a loop device over a sparse
//!   image on a small tmpfs. ext4 believes it has room, so `write` lands in the page cache; when
//!   a [`Filler`] has taken the backing tmpfs, writeback fails and `fdatasync` reports it.
//!
//! Mounting needs root (the CI runs as root). Without it a tmpfs test re-runs itself in a user
//! and mount namespace (`unshare --user --map-root-user --mount`); a loop device cannot be had
//! there. Where neither works the test fails when `CI` is set, and otherwise says loudly that
//! it did not run. Every mount is undone when its guard drops.
//!
//! Shared by the ingest and cli test binaries (`#[path]`), each of which mounts its own.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in the environment of a test re-run inside a user and mount namespace.
const IN_NAMESPACE_ENV_VAR: &str = "HEATLAKE_TEST_IN_MOUNT_NAMESPACE";
/// Bytes the filler writes at a time.
const FILLER_CHUNK_BYTES: usize = 64 << 10;
/// Size of the sparse ext4 image of a [`SyncFailingDisk`] (it takes only what is written).
const EXT4_IMAGE_BYTES: u64 = 256 << 20;

/// Whether a test that cannot get its filesystem here may be skipped (it never may under CI).
fn skip_or_fail(what: &str, why: &str) {
    let message = format!(
        "{what} cannot be mounted here ({why}); the test needs root, or for a tmpfs a user and \
         mount namespace (`unshare --user --map-root-user --mount`)"
    );
    assert!(
        std::env::var_os("CI").is_none(),
        "{message}; CI must run this test"
    );
    eprintln!("SKIPPED, NOT RUN: {message}");
}

/// Runs `command`, returning its standard error when it fails.
fn run(command: &mut Command) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|error| format!("{command:?}: {error}"))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(format!(
            "{command:?}: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// A tmpfs mounted on a fresh temporary directory; unmounted on drop.
pub struct SmallTmpfs {
    dir: tempfile::TempDir,
}

/// What [`SmallTmpfs::mount_or_rerun`] got.
pub enum Mounted {
    /// The tmpfs, mounted in this process.
    Here(SmallTmpfs),
    /// This process cannot mount, and the test ran (and passed) in a namespace of its own, or
    /// could not run at all and was reported as skipped: nothing more to do here.
    Elsewhere,
}

impl SmallTmpfs {
    /// Mounts a tmpfs of `bytes`, or `Err` with why not.
    pub fn mount(bytes: u64) -> Result<Self, String> {
        let dir = tempfile::Builder::new()
            .prefix("heatlake-tmpfs-")
            .tempdir()
            .map_err(|error| error.to_string())?;
        run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path()))?;
        Ok(Self { dir })
    }

    /// Mounts a tmpfs of `bytes` here; where this process may not mount, re-runs the test named
    /// `test` (its path in the test binary, e.g. `wal_faults::a_full_disk_...`) as root of a
    /// user and mount namespace and checks that it passed there.
    pub fn mount_or_rerun(bytes: u64, test: &str) -> Mounted {
        let why = match Self::mount(bytes) {
            Ok(tmpfs) => return Mounted::Here(tmpfs),
            Err(why) => why,
        };
        if std::env::var_os(IN_NAMESPACE_ENV_VAR).is_some() {
            skip_or_fail("a tmpfs", &why);
            return Mounted::Elsewhere;
        }
        let binary = std::env::current_exe().expect("the test binary's path");
        let rerun = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount"])
            .arg(binary)
            .args([test, "--exact", "--nocapture", "--test-threads=1"])
            .env(IN_NAMESPACE_ENV_VAR, "1")
            .output();
        match rerun {
            Ok(output) if output.status.success() => {
                let stdout = String::from_utf8_lossy(&output.stdout);
                // A wrong name runs no test and exits 0: that is no pass.
                assert!(
                    stdout.contains("test result: ok. 1 passed"),
                    "the re-run in a namespace ran no test named {test}:\n{stdout}"
                );
                eprintln!("{test}: ran in a user and mount namespace");
            }
            Ok(output) if String::from_utf8_lossy(&output.stderr).contains("unshare failed") => {
                skip_or_fail(
                    "a tmpfs",
                    &format!("{why}; {}", String::from_utf8_lossy(&output.stderr).trim()),
                );
            }
            Ok(output) => panic!(
                "{test} failed in a user and mount namespace:\n{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
            Err(error) => skip_or_fail("a tmpfs", &format!("{why}; unshare: {error}")),
        }
        Mounted::Elsewhere
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        // Lazily: a process the test started may still hold a file open.
        if let Err(error) = run(Command::new("umount").arg("-l").arg(self.dir.path())) {
            eprintln!("unmounting the test tmpfs failed: {error}");
        }
    }
}

/// A file that takes every free byte of a filesystem; [`Filler::remove`] gives them back.
pub struct Filler {
    path: PathBuf,
}

impl Filler {
    /// Writes `path` until its filesystem has no space left.
    pub fn fill(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let mut file = std::fs::File::create(&path).expect("the filler can be created");
        let chunk = vec![0x5a; FILLER_CHUNK_BYTES];
        loop {
            match file.write(&chunk) {
                Ok(0) => break,
                Ok(_) => {}
                Err(error) if error.raw_os_error() == Some(28) => break,
                Err(error) => panic!("filling {}: {error}", path.display()),
            }
        }
        // Whatever is left is less than a page; the smaller writes take it too.
        for bytes in [4096, 512, 1] {
            while file.write(&chunk[..bytes]).is_ok_and(|written| written > 0) {}
        }
        Self { path }
    }

    /// Deletes the filler: the space is free again.
    pub fn remove(self) {
        std::fs::remove_file(&self.path).expect("the filler can be deleted");
    }
}

impl Drop for Filler {
    fn drop(&mut self) {
        // After a failed test too: a full backing tmpfs would keep ext4 from unmounting.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// ext4 on a loop device whose backing file lives on a small tmpfs: `fdatasync` fails once a
/// [`Filler`] takes the backing tmpfs ([`SyncFailingDisk::backing`]). Unmounted and detached on
/// drop.
pub struct SyncFailingDisk {
    mount: tempfile::TempDir,
    loop_device: String,
    // Dropped last: the image lives on it.
    backing: SmallTmpfs,
}

impl SyncFailingDisk {
    /// Sets the disk up with `backing_bytes` of real room, or `None` (after failing under CI,
    /// or saying it was skipped) where loop devices or mounting are not allowed.
    pub fn mount(backing_bytes: u64) -> Option<Self> {
        // A machine or container that offers no loop devices at all cannot run this test, CI
        // included; say so loudly. Where they exist, any failure to set the disk up counts.
        if !Path::new("/dev/loop-control").exists() {
            eprintln!(
                "SKIPPED, NOT RUN: ext4 on a loop device: this kernel offers no loop devices \
                 (/dev/loop-control is missing); the disk-full tests on a tmpfs still run"
            );
            return None;
        }
        match Self::try_mount(backing_bytes) {
            Ok(disk) => Some(disk),
            Err(why) => {
                skip_or_fail("ext4 on a loop device", &why);
                None
            }
        }
    }

    fn try_mount(backing_bytes: u64) -> Result<Self, String> {
        let backing = SmallTmpfs::mount(backing_bytes)?;
        let image = backing.path().join("ext4.img");
        std::fs::File::create(&image)
            .and_then(|file| file.set_len(EXT4_IMAGE_BYTES))
            .map_err(|error| error.to_string())?;
        run(Command::new("mkfs.ext4")
            .args(["-q", "-F", "-O", "^has_journal"])
            .arg(&image))?;
        let loop_device = run(Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&image))?;
        let mount = tempfile::Builder::new()
            .prefix("heatlake-ext4-")
            .tempdir()
            .map_err(|error| error.to_string())?;
        // Without a journal and with errors=continue, a failed writeback is reported to fsync
        // and the filesystem stays writable, as a data disk that ran out of room would.
        if let Err(why) = run(Command::new("mount")
            .args(["-o", "errors=continue", &loop_device])
            .arg(mount.path()))
        {
            let _ = run(Command::new("losetup").args(["-d", &loop_device]));
            return Err(why);
        }
        Ok(Self {
            mount,
            loop_device,
            backing,
        })
    }

    /// The ext4 filesystem, for the WAL.
    pub fn path(&self) -> &Path {
        self.mount.path()
    }

    /// The tmpfs under the image, for the [`Filler`].
    pub fn backing(&self) -> &Path {
        self.backing.path()
    }
}

impl Drop for SyncFailingDisk {
    fn drop(&mut self) {
        if let Err(error) = run(Command::new("umount").arg("-l").arg(self.mount.path())) {
            eprintln!("unmounting the test ext4 failed: {error}");
        }
        if let Err(error) = run(Command::new("losetup").args(["-d", &self.loop_device])) {
            eprintln!("detaching {} failed: {error}", self.loop_device);
        }
    }
}
