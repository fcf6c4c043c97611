//! Everything vigil writes goes through here: files are written atomically, standard output
//! follows one broken-pipe rule, and numbers are formatted the same way in every CSV and JSON.
//!
//! * Files: written to a temporary file beside the target, synced, then renamed over it, so a
//!   failed or killed run leaves any existing file untouched. A path that names something other
//!   than a regular file (`/dev/null`, `/dev/stdout`, a FIFO) is written in place: renaming over
//!   it would replace the device or pipe with a file (run as root, `--out /dev/null` did). A
//!   symbolic link is followed, so the file it points to is replaced and the link kept.
//! * Standard output: when the reader has gone away (`vigil … | head`), vigil stops quietly with
//!   status 0, like other Unix tools. Rust ignores SIGPIPE, so a closed pipe shows up either as an
//!   error, which `main` recognises with [`is_broken_pipe`], or, from `println!`, as a panic, which
//!   the hook of [`exit_quietly_on_broken_pipe`] turns into a quiet exit.
//! * Numbers: CSV as R and openEBGM print them ([`csv_number`]), JSON with non-finite values as
//!   null ([`json_number`]).

pub mod parquet;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Runs `write` on a buffered temporary file beside `path`, then syncs it and renames it over
/// `path`, so a failed run leaves any existing file untouched; or on stdout when `path` is `None`.
/// Devices and pipes are written in place, and symbolic links followed (see the module doc).
pub fn with_output(
    path: Option<&Path>,
    write: impl FnOnce(&mut (dyn Write + Send)) -> Result<()>,
) -> Result<()> {
    // `-` is standard output, as for most command-line tools (a file named `-` is `./-`).
    let Some(path) = path.filter(|p| p.as_os_str() != "-") else {
        let mut out = std::io::BufWriter::new(std::io::stdout());
        return write(&mut out)
            .and_then(|_| Ok(out.flush()?))
            .context("writing to standard output");
    };
    let result = match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() && !meta.is_dir() => write_in_place(path, write),
        _ => write_through_rename(&follow_symlink(path), write),
    };
    result.with_context(|| format!("{}: cannot write", path.display()))
}

/// Where a symbolic link leads, so that the rename replaces that file and keeps the link (also
/// when the link dangles: the file is then created where it points); any other path as it is.
/// Follows at most 40 links, the limit Linux itself applies (path_resolution(7)).
fn follow_symlink(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&current) {
            Ok(target) if target.is_absolute() => current = target,
            Ok(target) => {
                let dir = current.parent().unwrap_or(Path::new("")).to_path_buf();
                current = dir.join(target);
            }
            Err(_) => break,
        }
    }
    current
}

/// Writes straight into `path`: for devices and pipes, which hold no previous content to keep.
fn write_in_place(
    path: &Path,
    write: impl FnOnce(&mut (dyn Write + Send)) -> Result<()>,
) -> Result<()> {
    let file = std::fs::OpenOptions::new().write(true).open(path)?;
    let mut buffered = std::io::BufWriter::with_capacity(1 << 20, file);
    write(&mut buffered)?;
    buffered.flush()?;
    Ok(())
}

/// Writes a temporary file beside `path`, syncs it and renames it over `path`; on failure the
/// temporary file is removed and `path` is untouched.
fn write_through_rename(
    path: &Path,
    write: impl FnOnce(&mut (dyn Write + Send)) -> Result<()>,
) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
        std::process::id()
    ));
    let result = (|| -> Result<()> {
        let file = EarlySyncFile::new(std::fs::File::create(&tmp)?, SYNC_EVERY);
        let mut buffered = std::io::BufWriter::with_capacity(1 << 20, file);
        write(&mut buffered)?;
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        // Timed apart (within the caller's phase): the wait for the disk, and the rename, which
        // frees the pages of the file it replaces.
        let _phase = crate::timing::phase("sync and rename");
        file.finish()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Bytes written between two requests to hand the written pages to the disk ([`EarlySyncFile`]).
const SYNC_EVERY: u64 = 16 << 20;

/// A file being written that hands its pages to the disk while it grows: every `sync_every`
/// bytes a thread of its own calls `sync_data` on a second handle of the file (started at the
/// first such point, so a small file starts none), and [`EarlySyncFile::finish`] then syncs what
/// is left. Why: the final `sync_all` used to send the whole file to the disk at the end, after
/// the last byte was formatted (0.12–0.20 s of `fsync` for the 198 MB CSV of the FAERS 2023
/// table, `strace -T`); now the disk writes while the rows are formatted. Linux's
/// `sync_file_range`, which starts writeback without waiting, is not reachable without `unsafe`
/// code (neither `nix` nor `rustix` wraps it), hence the thread.
struct EarlySyncFile {
    file: std::fs::File,
    sync_every: u64,
    since_request: u64,
    /// Sync requests to the thread (at most one waiting: a waiting sync covers later pages too).
    request: Option<std::sync::mpsc::SyncSender<()>>,
    syncer: Option<std::thread::JoinHandle<std::io::Result<()>>>,
}

impl EarlySyncFile {
    fn new(file: std::fs::File, sync_every: u64) -> Self {
        EarlySyncFile {
            file,
            sync_every,
            since_request: 0,
            request: None,
            syncer: None,
        }
    }

    /// Asks the thread (started on the first call) to sync the pages written so far; does not
    /// wait for it.
    fn request_sync(&mut self) -> std::io::Result<()> {
        if self.request.is_none() {
            let handle = self.file.try_clone()?;
            let (sender, requests) = std::sync::mpsc::sync_channel::<()>(1);
            let syncer = std::thread::Builder::new()
                .name("vigil-sync".into())
                .spawn(move || {
                    for () in requests {
                        handle.sync_data()?;
                    }
                    Ok(())
                })?;
            self.request = Some(sender);
            self.syncer = Some(syncer);
        }
        if let Some(sender) = &self.request {
            // Full: a sync is already waiting and will cover these pages. Disconnected: the
            // thread stopped on an error, which `finish` returns.
            let _ = sender.try_send(());
        }
        Ok(())
    }

    /// Waits for the thread to end and returns its first error.
    fn stop_syncing(&mut self) -> std::io::Result<()> {
        drop(self.request.take());
        match self.syncer.take() {
            Some(syncer) => syncer
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the file sync thread panicked"))),
            None => Ok(()),
        }
    }

    /// Waits for the early syncs, then syncs the whole file, data and metadata.
    fn finish(mut self) -> std::io::Result<()> {
        self.stop_syncing()?;
        self.file.sync_all()
    }
}

impl Write for EarlySyncFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(buf)?;
        self.since_request += written as u64;
        if self.since_request >= self.sync_every {
            self.since_request = 0;
            self.request_sync()?;
        }
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for EarlySyncFile {
    /// A failed write still waits for the thread, which holds a handle of the temporary file.
    fn drop(&mut self) {
        let _ = self.stop_syncing();
    }
}

/// Writes `bytes` to `path` (through a temporary file and a rename) or to stdout.
pub fn write_atomically(path: Option<&Path>, bytes: &[u8]) -> Result<()> {
    with_output(path, |w| Ok(w.write_all(bytes)?))
}

/// Writes `text` to standard output (a closed pipe is an error that `main` ends quietly on).
pub fn print(text: &str) -> Result<()> {
    write_atomically(None, text.as_bytes())
}

/// True when `err` comes from writing to a closed pipe (`vigil … | head`). Looked for anywhere in
/// the error's chain (csv, serde_json and anyhow wrap the io::Error); Arrow and Parquet writers keep
/// only the io::Error's text, hence the second test.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || e.to_string().contains("Broken pipe (os error 32)")
    })
}

/// Installs the panic hook that ends vigil quietly with status 0 when `println!` finds standard
/// output closed (the same rule as [`is_broken_pipe`] for returned errors).
pub fn exit_quietly_on_broken_pipe() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.contains("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default_hook(info);
    }));
}

/// A number as R and openEBGM print it in CSV: shortest round-trip form, `Inf`, `-Inf`, `NaN`.
pub fn csv_number(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            "Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{x}")
    }
}

/// A number as JSON: NaN and ±∞, which JSON cannot hold, become null.
pub fn json_number(x: f64) -> serde_json::Value {
    serde_json::Number::from_f64(x).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_csv_and_json() {
        assert_eq!(csv_number(0.1), "0.1");
        assert_eq!(csv_number(3.0), "3");
        assert_eq!(csv_number(f64::INFINITY), "Inf");
        assert_eq!(csv_number(f64::NEG_INFINITY), "-Inf");
        assert_eq!(csv_number(f64::NAN), "NaN");
        assert_eq!(json_number(2.5), serde_json::json!(2.5));
        assert_eq!(json_number(f64::NAN), serde_json::Value::Null);
        assert_eq!(json_number(f64::INFINITY), serde_json::Value::Null);
    }

    #[test]
    fn a_failed_write_leaves_the_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.csv");
        write_atomically(Some(&path), b"first\n").unwrap();
        let err = with_output(Some(&path), |w| {
            w.write_all(b"partial")?;
            anyhow::bail!("stopped half-way")
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("out.csv: cannot write"));
        assert_eq!(std::fs::read(&path).unwrap(), b"first\n");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_pipe_is_written_in_place_not_replaced_by_a_file() {
        // Reproduction: run as root, `vigil signals … --out /dev/null` renamed its temporary file
        // over /dev/null, which became a regular file (seen on 2026-12-05). A FIFO stands in for
        // the device here: the old code replaced it with a file and its reader never saw a byte.
        use std::os::unix::fs::FileTypeExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success(), "mkfifo failed");
        let (sent, received) = std::sync::mpsc::channel();
        let reader_path = fifo.clone();
        std::thread::spawn(move || {
            let text = std::fs::read_to_string(&reader_path);
            let _ = sent.send(text.map_err(|e| e.to_string()));
        });
        write_atomically(Some(&fifo), b"drug,event\n").unwrap();
        let text = received
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the reader of the FIFO received nothing")
            .unwrap();
        assert_eq!(text, "drug,event\n");
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(kind.is_fifo(), "the FIFO was replaced: {kind:?}");
        // Nothing else was created beside it.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_symbolic_link_is_followed_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("results")).unwrap();
        let target = dir.path().join("results").join("signals.csv");
        std::fs::write(&target, b"old\n").unwrap();
        let link = dir.path().join("latest.csv");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomically(Some(&link), b"new\n").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new\n");
        assert_eq!(std::fs::read(&link).unwrap(), b"new\n");
    }

    /// Reference: the bytes written. A file of several sync intervals comes out whole, whether
    /// the early syncs ran (the thread was started) or not.
    #[test]
    fn a_file_synced_while_written_holds_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let path = dir.path().join("small-intervals.bin");
        let mut file = EarlySyncFile::new(std::fs::File::create(&path).unwrap(), 4096);
        for piece in bytes.chunks(1000) {
            file.write_all(piece).unwrap();
        }
        assert!(file.syncer.is_some(), "no early sync was started");
        file.finish().unwrap();
        assert!(std::fs::read(&path).unwrap() == bytes);
        // Through `with_output`, with the default interval: twice it and a bit.
        let big: Vec<u8> = (0..2 * SYNC_EVERY + 12_345)
            .map(|i| (i % 253) as u8)
            .collect();
        let path = dir.path().join("signals.csv");
        write_atomically(Some(&path), &big).unwrap();
        assert!(std::fs::read(&path).unwrap() == big);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn broken_pipe_is_recognised_through_the_chain() {
        let io = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        let err = anyhow::Error::new(io).context("writing to standard output");
        assert!(is_broken_pipe(&err));
        assert!(!is_broken_pipe(&anyhow::anyhow!("no such file")));
    }
}
