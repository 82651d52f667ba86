//! `voxprint model fetch`: the published Resemblyzer weights → the project's model file.
//!
//! pip is the one client that every machine has for PyPI, so it downloads the wheel; everything
//! after that is this crate's own code: checksums, the zip, the legacy torch reader, the
//! converter. The file is written beside its destination and renamed, so a reader never sees a
//! half-written model.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use super::format::{self, NamedTensor};
use super::{expected_tensors, torch_legacy, ModelError, Weights};

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
            FetchOutcome::AlreadyPresent { path } => write!(f, "speaker model already present and verified at {}", path.display()),
            FetchOutcome::Written { path, bytes } => write!(f, "speaker model written to {} ({bytes} bytes)", path.display()),
        }
    }
}

/// Makes sure a verified model file exists at `dest`, downloading and converting the
/// Resemblyzer 0.1.4 weights if it does not. Idempotent.
pub fn fetch(dest: &Path) -> Result<FetchOutcome, ModelError> {
    if is_valid_model(dest) {
        return Ok(FetchOutcome::AlreadyPresent { path: dest.to_owned() });
    }
    let work = scratch_dir()?;
    let result = download_and_convert(dest, &work);
    // Best effort: a leftover temporary directory is harmless.
    let _ = std::fs::remove_dir_all(&work);
    result
}

/// Converts the bytes of `pretrained.pt` into the bytes of a model file.
pub fn convert_pretrained(pretrained: &[u8]) -> Result<Vec<u8>, ModelError> {
    let mut found = torch_legacy::read_tensors(pretrained, "model_state")?;
    let mut tensors = Vec::new();
    for (name, shape) in expected_tensors() {
        let t = found.remove(&name).ok_or_else(|| ModelError::Format(format!("pretrained.pt lacks {name}")))?;
        if t.shape != shape {
            return Err(ModelError::Format(format!("pretrained.pt: {name} has shape {:?}", t.shape)));
        }
        tensors.push((name, NamedTensor { shape: t.shape, data: t.data }));
    }
    let source = format!("{WHEEL_REQUIREMENT} {WEIGHTS_ENTRY} sha256:{WEIGHTS_SHA256}");
    format::encode(&source, &tensors)
}

/// True when `path` holds an intact model file converted from the expected weights.
fn is_valid_model(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else { return false };
    let from_expected = format::source(&bytes).is_ok_and(|s| s.contains(WEIGHTS_SHA256));
    from_expected && format::decode(&bytes).and_then(Weights::from_tensors).is_ok()
}

fn download_and_convert(dest: &Path, work: &Path) -> Result<FetchOutcome, ModelError> {
    let output = Command::new("python3")
        .args(["-m", "pip", "download", WHEEL_REQUIREMENT, "--no-deps", "--only-binary=:all:", "--quiet", "-d"])
        .arg(work)
        .output()
        .map_err(|e| ModelError::Download(format!("cannot run python3 -m pip: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(ModelError::Download(stderr.trim().to_owned()));
    }
    let wheel = std::fs::read_dir(work)
        .map_err(|e| ModelError::io("listing the download directory", e))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or_else(|| ModelError::Download("pip downloaded no wheel".into()))?;
    let wheel_bytes = std::fs::read(&wheel).map_err(|e| ModelError::io("reading the wheel", e))?;
    verify(&wheel_bytes, WHEEL_SHA256, "the resemblyzer 0.1.4 wheel")?;

    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(wheel_bytes))
        .map_err(|e| ModelError::Format(format!("wheel is not a zip: {e}")))?;
    let mut entry = archive
        .by_name(WEIGHTS_ENTRY)
        .map_err(|e| ModelError::Format(format!("wheel has no {WEIGHTS_ENTRY}: {e}")))?;
    let mut pretrained = Vec::new();
    entry.read_to_end(&mut pretrained).map_err(|e| ModelError::io("unzipping pretrained.pt", e))?;
    verify(&pretrained, WEIGHTS_SHA256, WEIGHTS_ENTRY)?;

    let model = convert_pretrained(&pretrained)?;
    write_atomically(dest, &model)?;
    Ok(FetchOutcome::Written { path: dest.to_owned(), bytes: model.len() as u64 })
}

fn verify(bytes: &[u8], expected: &str, what: &str) -> Result<(), ModelError> {
    let actual: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    if actual != expected {
        return Err(ModelError::Checksum { what: what.into(), expected: expected.into(), actual });
    }
    Ok(())
}

/// Writes `bytes` to a temporary file beside `dest`, syncs it, and renames it over `dest`.
fn write_atomically(dest: &Path, bytes: &[u8]) -> Result<(), ModelError> {
    let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| ModelError::io(format!("creating {}", dir.display()), e))?;
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
        ModelError::io(format!("writing {}", dest.display()), e)
    })
}

fn scratch_dir() -> Result<PathBuf, ModelError> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("voxprint-fetch-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| ModelError::io("creating a temporary directory", e))?;
    Ok(dir)
}
