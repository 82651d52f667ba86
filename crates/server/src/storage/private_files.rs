//! The server's files are readable by the account it runs as and nobody else: the database holds
//! the key that signs `audio_url`s and the token hashes, the data directory the admin token, and
//! the audio store people's recordings. New directories are created 0700 and new files 0600,
//! whatever the umask; older installations had 0755 and 0644, so [`secure`] tightens what it finds
//! at start and logs it.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;
/// The permission bits [`secure`] removes from existing files and directories.
const GROUP_AND_OTHER: u32 = 0o077;

/// Creates `path` and its missing parents as private directories.
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(path)
}

/// Creates a private file that must not exist yet.
pub fn create_new_file(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(path)
}

/// Opens a file for writing, creating it private if missing; never truncates it.
pub fn open_or_create(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create(true).truncate(false).mode(FILE_MODE).open(path)
}

/// What the server keeps on local disk.
pub struct PrivateData<'a> {
    pub data_dir: &'a Path,
    /// The names (or name prefixes) of the server's own files directly in the data directory:
    /// the database with its -wal, -shm and lock files, the admin token.
    pub own_files: &'a [&'a str],
    /// The embedded database, created empty and private before SQLite opens it (SQLite then
    /// gives its -wal and -shm files the database's mode); `None` with PostgreSQL.
    pub database: Option<PathBuf>,
    /// The root of the directory audio store; `None` with S3.
    pub audio_dir: Option<PathBuf>,
}

/// Creates the directories that the database and the audio need private, tightens the server's
/// existing files and directories to owner-only (with one log line saying what changed), and
/// creates the embedded database file private. With PostgreSQL and S3 nothing is created: an
/// admin command then needs no local directory.
pub fn secure(data: &PrivateData) -> io::Result<()> {
    if data.database.is_some() {
        create_dir_all(data.data_dir)?;
    }
    let mut tightened = Vec::new();
    match std::fs::read_dir(data.data_dir) {
        Ok(entries) => {
            tighten(data.data_dir, &mut tightened);
            for entry in entries {
                let entry = entry?;
                let name = entry.file_name();
                if data.own_files.iter().any(|own| name.to_string_lossy().starts_with(own)) {
                    tighten(&entry.path(), &mut tightened);
                }
            }
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(err),
    }
    let before_audio = tightened.len();
    if let Some(audio_dir) = &data.audio_dir {
        create_dir_all(audio_dir)?;
        tighten_tree(audio_dir, &mut tightened)?;
    }
    if !tightened.is_empty() {
        let audio = tightened.len() - before_audio;
        let mut listed: Vec<String> = tightened[..before_audio].iter().map(|path| path.display().to_string()).collect();
        if audio > 0 {
            listed.push(format!("the audio store ({audio} of its directories and files)"));
        }
        tracing::warn!(
            tightened = %listed.join(", "),
            "made private data readable by this account only (it was readable by other local users)"
        );
    }
    if let Some(database) = &data.database {
        open_or_create(database)?;
    }
    Ok(())
}

/// Removes group and other permissions from `path` (not following a symbolic link); records it
/// when it had any. A failure is logged, not fatal: the server can still use its files (and one
/// that vanished meanwhile, deleted by another process, needs nothing).
fn tighten(path: &Path, tightened: &mut Vec<PathBuf>) {
    let result = std::fs::symlink_metadata(path).and_then(|metadata| {
        let mode = metadata.permissions().mode();
        if metadata.file_type().is_symlink() || mode & GROUP_AND_OTHER == 0 {
            return Ok(());
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & !GROUP_AND_OTHER))?;
        tightened.push(path.to_path_buf());
        Ok(())
    });
    if let Err(err) = result.or_else(ignore_not_found) {
        tracing::warn!(path = %path.display(), %err, "could not make private data readable by this account only");
    }
}

/// [`tighten`] on `root` and everything below it.
fn tighten_tree(root: &Path, tightened: &mut Vec<PathBuf>) -> io::Result<()> {
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        tighten(&dir, tightened);
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == io::ErrorKind::NotFound => continue,
            Err(err) => return Err(err),
        };
        for entry in entries {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                pending.push(entry.path());
            } else {
                tighten(&entry.path(), tightened);
            }
        }
    }
    Ok(())
}

fn ignore_not_found(err: io::Error) -> io::Result<()> {
    if err.kind() == io::ErrorKind::NotFound {
        Ok(())
    } else {
        Err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn creates_private_and_tightens_only_the_servers_files() {
        let temp = tempfile::tempdir().unwrap();
        let data_dir = temp.path().join("data");
        let audio_dir = data_dir.join("blobs");
        std::fs::create_dir_all(audio_dir.join("voiceprints/1")).unwrap();
        for (path, mode) in [
            (data_dir.clone(), 0o755),
            (audio_dir.join("voiceprints"), 0o755),
            (audio_dir.join("voiceprints/1"), 0o750),
        ] {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        for (name, mode) in [("voxprint.db-wal", 0o644), ("admin-token", 0o600), ("notes.txt", 0o644)] {
            std::fs::write(data_dir.join(name), b"x").unwrap();
            std::fs::set_permissions(data_dir.join(name), std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let audio = audio_dir.join("voiceprints/1/2-ab.wav");
        std::fs::write(&audio, b"RIFF").unwrap();
        std::fs::set_permissions(&audio, std::fs::Permissions::from_mode(0o444)).unwrap();

        let database = data_dir.join("voxprint.db");
        let data = PrivateData {
            data_dir: &data_dir,
            own_files: &["voxprint.db", "admin-token"],
            database: Some(database.clone()),
            audio_dir: Some(audio_dir.clone()),
        };
        secure(&data).unwrap();
        assert_eq!(mode(&data_dir), 0o700);
        assert_eq!(mode(&database), 0o600, "created private");
        assert_eq!(mode(&data_dir.join("voxprint.db-wal")), 0o600);
        assert_eq!(mode(&data_dir.join("admin-token")), 0o600);
        assert_eq!(mode(&data_dir.join("notes.txt")), 0o644, "not the server's file");
        assert_eq!(mode(&audio_dir.join("voiceprints")), 0o700);
        assert_eq!(mode(&audio_dir.join("voiceprints/1")), 0o700);
        assert_eq!(mode(&audio), 0o400, "owner bits kept, none added");
        std::fs::write(&database, b"kept").unwrap();
        secure(&data).unwrap();
        assert_eq!(std::fs::read(&database).unwrap(), b"kept", "an existing database is not truncated");
    }

    #[test]
    fn creates_what_the_storage_needs_private() {
        let temp = tempfile::tempdir().unwrap();
        let data_dir = temp.path().join("new/data");
        let audio_dir = temp.path().join("audio");
        let remote = PrivateData { data_dir: &data_dir, own_files: &[], database: None, audio_dir: None };
        secure(&remote).unwrap();
        assert!(!data_dir.exists(), "PostgreSQL and S3 need no local directory");
        let database = data_dir.join("voxprint.db");
        let local = PrivateData {
            data_dir: &data_dir,
            own_files: &[],
            database: Some(database.clone()),
            audio_dir: Some(audio_dir.clone()),
        };
        secure(&local).unwrap();
        assert_eq!((mode(&data_dir), mode(&database), mode(&audio_dir)), (0o700, 0o600, 0o700));
        let file = data_dir.join("f");
        create_new_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        assert!(create_new_file(&file).is_err(), "must not exist yet");
    }
}
