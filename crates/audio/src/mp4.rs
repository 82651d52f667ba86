//! A walk over an MP4 file's boxes that checks every sample table before symphonia reads it.
//!
//! symphonia's MP4 reader (0.5) reserves `Vec` capacity from the entry counts of `stco`, `co64`,
//! `stts`, `stsc` and `stsz` as read from the file. A 40-byte box claiming 2³² entries asks
//! for tens of GiB, and a failed allocation aborts the process — `catch_unwind` cannot help.
//! So each table's entry count must fit in the bytes its box actually holds.

use crate::DecodeError;

const CONTAINERS: [&[u8; 4]; 11] = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"mvex", b"moof", b"traf", b"dinf", b"udta"];
const MAX_DEPTH: usize = 16;

pub(crate) fn check(bytes: &[u8]) -> Result<(), DecodeError> {
    walk(bytes, 0)
}

fn corrupt(detail: impl Into<String>) -> DecodeError {
    DecodeError::corrupt(format!("malformed MP4: {}", detail.into()))
}

fn walk(data: &[u8], depth: usize) -> Result<(), DecodeError> {
    if depth > MAX_DEPTH {
        return Err(corrupt("boxes nested too deeply"));
    }
    let mut pos = 0usize;
    while let Some(head) = data.get(pos..pos + 8) {
        let size32 = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as u64;
        let kind: [u8; 4] = [head[4], head[5], head[6], head[7]];
        let (header_len, size) = match size32 {
            0 => (8u64, (data.len() - pos) as u64),
            1 => {
                let large = data.get(pos + 8..pos + 16).ok_or_else(|| corrupt("truncated box header"))?;
                (16, u64::from_be_bytes(large.try_into().unwrap_or([0; 8])))
            }
            n => (8, n),
        };
        if size < header_len {
            return Err(corrupt("a box is smaller than its header"));
        }
        // A box running past the end is checked against what is there (a truncated upload).
        let end = (pos as u64).saturating_add(size).min(data.len() as u64) as usize;
        let body = &data[pos + header_len as usize..end];
        if CONTAINERS.contains(&&kind) {
            walk(body, depth + 1)?;
        } else {
            match &kind {
                b"stco" | b"stss" => table(&kind, body, 4)?,
                b"co64" | b"stts" | b"ctts" => table(&kind, body, 8)?,
                b"stsc" => table(&kind, body, 12)?,
                b"stsz" => sample_sizes(body)?,
                _ => {}
            }
        }
        pos = end;
    }
    Ok(())
}

/// A full box (version + flags), a u32 entry count, then fixed-size entries.
fn table(kind: &[u8; 4], body: &[u8], entry_len: u64) -> Result<(), DecodeError> {
    let name = String::from_utf8_lossy(kind).into_owned();
    let count = body.get(4..8).ok_or_else(|| corrupt(format!("truncated '{name}' box")))?;
    let count = u32::from_be_bytes([count[0], count[1], count[2], count[3]]) as u64;
    if count * entry_len > (body.len() - 8) as u64 {
        return Err(corrupt(format!("the '{name}' table claims {count} entries but holds {} bytes", body.len() - 8)));
    }
    Ok(())
}

/// `stsz`: version/flags, a constant size (0 = per-sample sizes follow), a sample count.
fn sample_sizes(body: &[u8]) -> Result<(), DecodeError> {
    let fields = body.get(4..12).ok_or_else(|| corrupt("truncated 'stsz' box"))?;
    let constant = u32::from_be_bytes([fields[0], fields[1], fields[2], fields[3]]);
    let count = u32::from_be_bytes([fields[4], fields[5], fields[6], fields[7]]) as u64;
    if constant == 0 && count * 4 > (body.len() - 12) as u64 {
        return Err(corrupt(format!("the 'stsz' table claims {count} entries but holds {} bytes", body.len() - 12)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut out = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(body);
        out
    }

    #[test]
    fn huge_entry_counts_are_refused() {
        let stco = boxed(b"stco", &[0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 8]);
        let file = boxed(b"moov", &boxed(b"trak", &boxed(b"mdia", &boxed(b"minf", &boxed(b"stbl", &stco)))));
        assert!(matches!(check(&file), Err(DecodeError::Corrupt { .. })));
        let honest = boxed(b"stco", &[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 8]);
        assert_eq!(check(&boxed(b"moov", &boxed(b"trak", &boxed(b"stbl", &honest)))), Ok(()));
        let stsz = boxed(b"stsz", &[0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0]);
        assert!(check(&boxed(b"stbl", &stsz)).is_err());
    }
}
