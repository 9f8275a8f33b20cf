//! Bomb bounds: a ZIP's directory checked, ZIP entries and PDF streams inflated into nothing.

/// A DOCX whose directory declares more than this (per entry, in total, entries) is refused
/// before it is inflated.
pub(super) const MAX_ZIP_ENTRY_BYTES: u64 = 64 * 1024 * 1024;
pub(super) const MAX_ZIP_TOTAL_BYTES: u64 = 128 * 1024 * 1024;
pub(super) const MAX_ZIP_ENTRIES: usize = 10_000;

/// A ZIP entry, from the central directory.
pub(super) struct ZipEntry<'a> {
    pub(super) name: &'a [u8],
    method: u16,
    uncompressed: u64,
}

/// The central directory's entries; `None` if it cannot be found or read (a truncated or
/// damaged archive, or ZIP64, which a DOCX within the upload limit never needs).
pub(super) fn zip_entries(bytes: &[u8]) -> Option<Vec<ZipEntry<'_>>> {
    const EOCD: &[u8] = b"PK\x05\x06";
    const CDH: &[u8] = b"PK\x01\x02";
    let u16_at = |at: usize| -> Option<u16> {
        Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
    };
    let u32_at = |at: usize| -> Option<u32> {
        Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
    };
    let last = bytes.len().checked_sub(22)?;
    let first = last.saturating_sub(0xFFFF);
    let eocd = (first..=last)
        .rev()
        .find(|&at| &bytes[at..at + 4] == EOCD)?;
    let count = u16_at(eocd + 10)?;
    let offset = u32_at(eocd + 16)?;
    if count == 0xFFFF || offset == 0xFFFF_FFFF {
        return None;
    }
    let mut entries = Vec::with_capacity(usize::from(count).min(MAX_ZIP_ENTRIES));
    let mut at = usize::try_from(offset).ok()?;
    for _ in 0..count {
        if bytes.get(at..at + 4)? != CDH {
            return None;
        }
        let method = u16_at(at + 10)?;
        let uncompressed = u32_at(at + 24)?;
        let name_len = usize::from(u16_at(at + 28)?);
        let extra_len = usize::from(u16_at(at + 30)?);
        let comment_len = usize::from(u16_at(at + 32)?);
        let name = bytes.get(at + 46..at + 46 + name_len)?;
        entries.push(ZipEntry {
            name,
            method,
            uncompressed: u64::from(uncompressed),
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    Some(entries)
}

/// Whether every stream of a PDF inflates within the bounds of a DOCX's entries. lopdf
/// inflates streams (object streams as it loads, content streams as pdf-extract reads them)
/// with no limit; so every `stream ... endstream` of the raw file that is zlib or raw deflate
/// data is inflated here first, into nothing, stopping as soon as it passes its bound. Other
/// filters (LZW, run-length, images' DCT) expand a few times at most.
pub(super) fn pdf_inflates_within_bounds(bytes: &[u8]) -> bool {
    let mut total = 0u64;
    let mut at = 0;
    while let Some(found) = find(&bytes[at..], b"stream") {
        let keyword = at + found;
        at = keyword + b"stream".len();
        if bytes[..keyword].ends_with(b"end") {
            continue;
        }
        let data = match &bytes[at..] {
            [b'\r', b'\n', ..] => at + 2,
            [b'\n' | b'\r', ..] => at + 1,
            _ => continue,
        };
        let end = find(&bytes[data..], b"endstream").map_or(bytes.len(), |e| data + e);
        let inflated = inflated_size(&bytes[data..end], MAX_ZIP_ENTRY_BYTES + 1);
        total += inflated;
        if inflated > MAX_ZIP_ENTRY_BYTES || total > MAX_ZIP_TOTAL_BYTES {
            return false;
        }
        at = end;
    }
    true
}

/// How many bytes `data` inflates to as zlib or else raw deflate data, counting no further
/// than `limit` (0 when it is neither).
fn inflated_size(data: &[u8], limit: u64) -> u64 {
    use std::io::Read;
    let count = |reader: &mut dyn Read| {
        let mut counted = 0u64;
        let mut buffer = [0u8; 64 * 1024];
        while counted < limit {
            match reader.read(&mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => counted += n as u64,
            }
        }
        counted
    };
    let zlib = count(&mut flate2::read::ZlibDecoder::new(data));
    if zlib > 0 {
        return zlib;
    }
    count(&mut flate2::read::DeflateDecoder::new(data))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The archive is small enough to inflate: stored or deflated entries (the only methods
/// DOCX uses and docx-rs reads), with declared sizes within bounds. (Sizes are declared by
/// the file; docx-rs does not stop at them. See the notes of the `extract` module.)
pub(super) fn zip_within_bounds(entries: &[ZipEntry<'_>]) -> bool {
    entries.len() <= MAX_ZIP_ENTRIES
        && entries
            .iter()
            .all(|e| matches!(e.method, 0 | 8) && e.uncompressed <= MAX_ZIP_ENTRY_BYTES)
        && entries.iter().map(|e| e.uncompressed).sum::<u64>() <= MAX_ZIP_TOTAL_BYTES
}

/// Whether every entry really inflates within the bounds. The sizes an archive declares are
/// the file's word, and docx-rs does not stop at them: so each entry is inflated here first,
/// into nothing, stopping as soon as it passes its bound, before docx-rs reads the archive.
pub(super) fn zip_inflates_within_bounds(bytes: &[u8]) -> bool {
    use std::io::Read;
    let Ok(mut archive) = zip::ZipArchive::new(std::io::Cursor::new(bytes)) else {
        return false;
    };
    let mut total = 0u64;
    for index in 0..archive.len() {
        let Ok(entry) = archive.by_index(index) else {
            return false;
        };
        let mut limited = entry.take(MAX_ZIP_ENTRY_BYTES + 1);
        let Ok(inflated) = std::io::copy(&mut limited, &mut std::io::sink()) else {
            return false;
        };
        total += inflated;
        if inflated > MAX_ZIP_ENTRY_BYTES || total > MAX_ZIP_TOTAL_BYTES {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::extract::docx::docx_text;
    use crate::knowledge::extract::pdf::pdf_text;
    use crate::knowledge::extract::{ExtractError, MAX_FILE_BYTES};

    /// A DOCX-shaped archive whose `word/document.xml` declares 1 KB but inflates to more
    /// than the entry bound.
    fn lying_docx() -> Vec<u8> {
        use std::io::Write;
        let mut buffer = std::io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut buffer);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            zip.start_file("word/document.xml", options).unwrap();
            let block = vec![b'a'; 1 << 20];
            for _ in 0..=(MAX_ZIP_ENTRY_BYTES >> 20) {
                zip.write_all(&block).unwrap();
            }
            zip.finish().unwrap();
        }
        let mut bytes = buffer.into_inner();
        // Rewrite the declared uncompressed size (local header and central directory) to 1 KB.
        let lie = 1024u32.to_le_bytes();
        let local = bytes.windows(4).position(|w| w == b"PK\x03\x04").unwrap();
        bytes[local + 22..local + 26].copy_from_slice(&lie);
        let central = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        bytes[central + 24..central + 28].copy_from_slice(&lie);
        bytes
    }

    #[test]
    fn a_docx_that_inflates_past_its_declared_size_is_refused() {
        let bomb = lying_docx();
        assert!(
            bomb.len() < MAX_FILE_BYTES,
            "the bomb itself is small: {}",
            bomb.len()
        );
        let entries = zip_entries(&bomb).unwrap();
        assert!(
            zip_within_bounds(&entries),
            "its declared sizes look harmless"
        );
        assert!(!zip_inflates_within_bounds(&bomb));
        assert_eq!(docx_text(&bomb).unwrap_err(), ExtractError::CorruptDocx);
    }

    /// A PDF with one FlateDecode stream of `size` zeros (`%PDF-` and a stream are all the
    /// bound looks at).
    fn pdf_with_stream(size: u64) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let block = vec![0u8; 1 << 20];
        let mut left = size;
        while left > 0 {
            let n = left.min(block.len() as u64) as usize;
            encoder.write_all(&block[..n]).unwrap();
            left -= n as u64;
        }
        let data = encoder.finish().unwrap();
        let mut pdf = format!(
            "%PDF-1.5\n1 0 obj\n<< /Length {} /Filter /FlateDecode >>\nstream\r\n",
            data.len()
        )
        .into_bytes();
        pdf.extend_from_slice(&data);
        pdf.extend_from_slice(b"\nendstream\nendobj\ntrailer << /Root 1 0 R >>\n%%EOF\n");
        pdf
    }

    #[test]
    fn a_pdf_stream_that_inflates_past_the_bound_is_refused() {
        let small = pdf_with_stream(1 << 20);
        assert!(pdf_inflates_within_bounds(&small));
        let bomb = pdf_with_stream(MAX_ZIP_ENTRY_BYTES + (1 << 20));
        assert!(
            bomb.len() < MAX_FILE_BYTES / 10,
            "the bomb itself is small: {}",
            bomb.len()
        );
        assert!(!pdf_inflates_within_bounds(&bomb));
        assert_eq!(pdf_text(&bomb).unwrap_err(), ExtractError::CorruptPdf);
    }
}
