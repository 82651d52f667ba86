//! The project's model file: a small self-describing container of named f32 tensors, read
//! without any third-party format so that loading stays simple and checkable.
//!
//! Layout (all integers little-endian):
//!
//! ```text
//! magic    8 bytes  "VXPMODEL"
//! version  u32      1
//! source   u16 length + UTF-8   where the weights came from (wheel and checksum)
//! count    u32      number of tensors
//! count ×  name (u16 length + UTF-8), ndim (u8), dims (u32 each), data (f32 × product of dims)
//! digest   32 bytes SHA-256 of everything before it
//! ```
//!
//! The trailing digest tells a complete, intact file from a torn or edited one.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

use super::ModelError;

const MAGIC: &[u8; 8] = b"VXPMODEL";
const VERSION: u32 = 1;
const DIGEST_LEN: usize = 32;

/// A tensor as stored: shape and row-major data.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Serialises `tensors` (in the given order) with a provenance string.
pub fn encode(source: &str, tensors: &[(String, NamedTensor)]) -> Result<Vec<u8>, ModelError> {
    let mut out = Vec::new();
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    put_str(&mut out, source)?;
    out.extend_from_slice(&u32::try_from(tensors.len()).map_err(|_| too_big())?.to_le_bytes());
    for (name, t) in tensors {
        put_str(&mut out, name)?;
        if t.shape.iter().product::<usize>() != t.data.len() {
            return Err(ModelError::Format(format!("tensor {name}: shape does not match its data")));
        }
        out.push(u8::try_from(t.shape.len()).map_err(|_| too_big())?);
        for &d in &t.shape {
            out.extend_from_slice(&u32::try_from(d).map_err(|_| too_big())?.to_le_bytes());
        }
        for v in &t.data {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    let digest = Sha256::digest(&out);
    out.extend_from_slice(&digest);
    Ok(out)
}

/// Parses and verifies a model file, returning its tensors by name.
pub fn decode(bytes: &[u8]) -> Result<HashMap<String, NamedTensor>, ModelError> {
    if bytes.len() < MAGIC.len() + DIGEST_LEN || &bytes[..MAGIC.len()] != MAGIC {
        return Err(ModelError::Format("not a Voxprint model file".into()));
    }
    let (body, digest) = bytes.split_at(bytes.len() - DIGEST_LEN);
    if Sha256::digest(body).as_slice() != digest {
        return Err(ModelError::Format("model file is damaged (digest mismatch); fetch it again".into()));
    }
    let mut r = Cursor { bytes: body, pos: MAGIC.len() };
    let version = r.u32()?;
    if version != VERSION {
        return Err(ModelError::Format(format!("model file version {version}, this build reads {VERSION}")));
    }
    let _source = r.string()?;
    let count = r.u32()?;
    let mut tensors = HashMap::new();
    for _ in 0..count {
        let name = r.string()?;
        let ndim = r.take(1)?[0];
        let shape = (0..ndim).map(|_| r.u32().map(|d| d as usize)).collect::<Result<Vec<_>, _>>()?;
        let numel = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).ok_or_else(truncated)?;
        let raw = r.take(numel.checked_mul(4).ok_or_else(truncated)?)?;
        let data = raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        tensors.insert(name, NamedTensor { shape, data });
    }
    if r.pos != body.len() {
        return Err(ModelError::Format("trailing bytes in model file".into()));
    }
    Ok(tensors)
}

/// Reads only the provenance string of a verified file.
pub fn source(bytes: &[u8]) -> Result<String, ModelError> {
    decode(bytes)?;
    let mut r = Cursor { bytes, pos: MAGIC.len() + 4 };
    r.string()
}

fn put_str(out: &mut Vec<u8>, s: &str) -> Result<(), ModelError> {
    out.extend_from_slice(&u16::try_from(s.len()).map_err(|_| too_big())?.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn too_big() -> ModelError {
    ModelError::Format("value too large for the model file format".into())
}

fn truncated() -> ModelError {
    ModelError::Format("model file is truncated".into())
}

struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(truncated)?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, ModelError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn string(&mut self) -> Result<String, ModelError> {
        let b = self.take(2)?;
        let n = usize::from(u16::from_le_bytes([b[0], b[1]]));
        String::from_utf8(self.take(n)?.to_vec()).map_err(|_| ModelError::Format("non-UTF-8 name".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<(String, NamedTensor)> {
        vec![
            ("a".into(), NamedTensor { shape: vec![2, 3], data: vec![1.0, -2.0, 3.5, 0.0, 1e-9, 7.0] }),
            ("b".into(), NamedTensor { shape: vec![1], data: vec![42.0] }),
        ]
    }

    #[test]
    fn round_trip() {
        let bytes = encode("test", &sample()).unwrap();
        let back = decode(&bytes).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back["a"], sample()[0].1);
        assert_eq!(source(&bytes).unwrap(), "test");
    }

    #[test]
    fn damage_is_detected() {
        let mut bytes = encode("test", &sample()).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        assert!(decode(&bytes).is_err());
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode(b"").is_err());
    }
}
