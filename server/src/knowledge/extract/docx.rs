//! DOCX: a ZIP holding `word/document.xml`, bounded, then read by docx-rs under a guard.

use super::bounds::{zip_entries, zip_inflates_within_bounds, zip_within_bounds};
use super::whitespace::single_line;
use super::{ExtractError, guarded};

/// Whether a ZIP is a Word document: its directory, or (damaged) its bytes, name
/// `word/document.xml`.
pub(super) fn zip_holds_docx(bytes: &[u8]) -> bool {
    const MAIN: &[u8] = b"word/document.xml";
    match zip_entries(bytes) {
        Some(entries) => entries.iter().any(|e| e.name == MAIN),
        None => bytes.windows(MAIN.len()).any(|w| w == MAIN),
    }
}

pub(super) fn docx_text(bytes: &[u8]) -> Result<String, ExtractError> {
    let entries = zip_entries(bytes).ok_or(ExtractError::CorruptDocx)?;
    if !zip_within_bounds(&entries) || !zip_inflates_within_bounds(bytes) {
        return Err(ExtractError::CorruptDocx);
    }
    let docx = guarded(|| docx_rs::read_docx(bytes))
        .ok_or(ExtractError::CorruptDocx)?
        .map_err(|_| ExtractError::CorruptDocx)?;
    let mut out = String::new();
    for child in &docx.document.children {
        docx_block(child, &mut out);
    }
    Ok(out)
}

/// A body element: paragraphs and tables (content controls opened); tables of contents
/// (generated text), bookmarks and comments' anchors skipped.
fn docx_block(child: &docx_rs::DocumentChild, out: &mut String) {
    use docx_rs::DocumentChild;
    match child {
        DocumentChild::Paragraph(p) => docx_paragraph(p, out),
        DocumentChild::Table(t) => docx_table(t, out),
        DocumentChild::StructuredDataTag(sdt) => docx_sdt(sdt, out),
        _ => {}
    }
}

fn docx_paragraph(paragraph: &docx_rs::Paragraph, out: &mut String) {
    for child in &paragraph.children {
        docx_inline(child, out);
    }
    out.push_str("\n\n");
}

/// A paragraph's content: runs, insertions, hyperlinks' text, moved-to text; deletions and
/// moved-from text (tracked changes' old text) skipped.
fn docx_inline(child: &docx_rs::ParagraphChild, out: &mut String) {
    use docx_rs::{InsertChild, MoveToChild, ParagraphChild};
    match child {
        ParagraphChild::Run(run) => docx_run(run, out),
        ParagraphChild::Insert(insert) => {
            for c in &insert.children {
                if let InsertChild::Run(run) = c {
                    docx_run(run, out);
                }
            }
        }
        ParagraphChild::MoveTo(moved) => {
            for c in &moved.children {
                if let MoveToChild::Run(run) = c {
                    docx_run(run, out);
                }
            }
        }
        ParagraphChild::Hyperlink(link) => {
            for c in &link.children {
                docx_inline(c, out);
            }
        }
        ParagraphChild::StructuredDataTag(sdt) => docx_sdt(sdt, out),
        _ => {}
    }
}

fn docx_run(run: &docx_rs::Run, out: &mut String) {
    use docx_rs::RunChild;
    for c in &run.children {
        match c {
            RunChild::Text(t) => out.push_str(&t.text),
            RunChild::Tab(_) | RunChild::PTab(_) => out.push('\t'),
            RunChild::Break(_) | RunChild::CarriageReturn(_) => out.push('\n'),
            _ => {}
        }
    }
}

fn docx_sdt(sdt: &docx_rs::StructuredDataTag, out: &mut String) {
    use docx_rs::StructuredDataTagChild;
    for c in &sdt.children {
        match c {
            StructuredDataTagChild::Run(run) => docx_run(run, out),
            StructuredDataTagChild::Paragraph(p) => docx_paragraph(p, out),
            StructuredDataTagChild::Table(t) => docx_table(t, out),
            StructuredDataTagChild::StructuredDataTag(inner) => docx_sdt(inner, out),
            _ => {}
        }
    }
}

/// A row per line, its cells' text separated by " | ".
fn docx_table(table: &docx_rs::Table, out: &mut String) {
    use docx_rs::{TableCellContent, TableChild, TableRowChild};
    for TableChild::TableRow(row) in &table.rows {
        let mut cells = Vec::new();
        for TableRowChild::TableCell(cell) in &row.cells {
            let mut text = String::new();
            for content in &cell.children {
                match content {
                    TableCellContent::Paragraph(p) => docx_paragraph(p, &mut text),
                    TableCellContent::Table(t) => docx_table(t, &mut text),
                    TableCellContent::StructuredDataTag(sdt) => docx_sdt(sdt, &mut text),
                    TableCellContent::TableOfContents(_) => {}
                }
            }
            let text = single_line(&text);
            if !text.is_empty() {
                cells.push(text);
            }
        }
        if !cells.is_empty() {
            out.push_str(&cells.join(" | "));
            out.push('\n');
        }
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use crate::knowledge::extract::{ExtractError, extract, text_of};
    use botwire_api::types::DocumentKind;
    use docx_rs::{
        Delete, Docx, Hyperlink, HyperlinkType, Paragraph, Run, Table, TableCell, TableRow,
    };

    // -- Fixtures, built here ---------------------------------------------------------------

    /// A DOCX written by docx-rs: paragraphs, a hyperlink, a tracked deletion, a table.
    fn docx() -> Vec<u8> {
        let document = Docx::new()
            .add_paragraph(Paragraph::new().add_run(Run::new().add_text("Refund policy")))
            .add_paragraph(
                Paragraph::new()
                    .add_run(Run::new().add_text("Refunds are paid within "))
                    .add_run(Run::new().add_text("14 days").bold())
                    .add_run(Run::new().add_text(". See "))
                    .add_hyperlink(
                        Hyperlink::new("https://example.com/refunds", HyperlinkType::External)
                            .add_run(Run::new().add_text("the refunds page")),
                    )
                    .add_run(Run::new().add_text("."))
                    .add_delete(
                        Delete::new().add_run(Run::new().add_delete_text("Withdrawn sentence.")),
                    ),
            )
            .add_table(Table::new(vec![
                TableRow::new(vec![
                    TableCell::new()
                        .add_paragraph(Paragraph::new().add_run(Run::new().add_text("Plan"))),
                    TableCell::new()
                        .add_paragraph(Paragraph::new().add_run(Run::new().add_text("Days"))),
                ]),
                TableRow::new(vec![
                    TableCell::new()
                        .add_paragraph(Paragraph::new().add_run(Run::new().add_text("Basic"))),
                    TableCell::new()
                        .add_paragraph(Paragraph::new().add_run(Run::new().add_text("30"))),
                ]),
            ]));
        let mut bytes = std::io::Cursor::new(Vec::new());
        document
            .build()
            .pack(&mut bytes)
            .expect("docx-rs packs a document");
        bytes.into_inner()
    }

    /// A ZIP of stored entries, written by hand (CRC-32 computed).
    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        fn crc32(data: &[u8]) -> u32 {
            let mut crc = !0u32;
            for &byte in data {
                crc ^= u32::from(byte);
                for _ in 0..8 {
                    crc = if crc & 1 == 1 {
                        (crc >> 1) ^ 0xEDB8_8320
                    } else {
                        crc >> 1
                    };
                }
            }
            !crc
        }
        let mut out = Vec::new();
        let mut directory = Vec::new();
        for (name, data) in entries {
            let offset = u32::try_from(out.len()).unwrap();
            let size = u32::try_from(data.len()).unwrap();
            let name_len = u16::try_from(name.len()).unwrap();
            let crc = crc32(data);
            out.extend_from_slice(b"PK\x03\x04\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&name_len.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(data);
            directory
                .extend_from_slice(b"PK\x01\x02\x14\x00\x14\x00\x00\x00\x00\x00\x00\x00\x00\x00");
            directory.extend_from_slice(&crc.to_le_bytes());
            directory.extend_from_slice(&size.to_le_bytes());
            directory.extend_from_slice(&size.to_le_bytes());
            directory.extend_from_slice(&name_len.to_le_bytes());
            directory.extend_from_slice(&[0; 12]);
            directory.extend_from_slice(&offset.to_le_bytes());
            directory.extend_from_slice(name.as_bytes());
        }
        let directory_at = u32::try_from(out.len()).unwrap();
        let count = u16::try_from(entries.len()).unwrap();
        out.extend_from_slice(&directory);
        out.extend_from_slice(b"PK\x05\x06\x00\x00\x00\x00");
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&u32::try_from(directory.len()).unwrap().to_le_bytes());
        out.extend_from_slice(&directory_at.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn reads_a_docx() {
        let bytes = docx();
        let text = text_of(extract("policy.docx", None, &bytes), DocumentKind::Docx);
        assert_eq!(
            text,
            "Refund policy\n\nRefunds are paid within 14 days. See the refunds page.\n\n\
             Plan | Days\nBasic | 30"
        );
        // By content, whatever the name.
        assert_eq!(
            extract("upload", None, &bytes).map(|e| e.kind()),
            Ok(DocumentKind::Docx)
        );
    }

    #[test]
    fn a_zip_that_is_not_a_docx_is_unsupported() {
        let bytes = zip(&[("hello.txt", b"hello"), ("data/x.xml", b"<x/>")]);
        assert_eq!(
            extract("archive.zip", None, &bytes),
            Err(ExtractError::Unsupported {
                what: ".zip".to_owned()
            })
        );
        let error = extract("archive", None, &bytes).unwrap_err();
        assert_eq!(
            error.to_string(),
            "unsupported file type: a ZIP archive that is not a DOCX document"
        );
        // Named .docx, still not one.
        assert!(matches!(
            extract("policy.docx", None, &bytes),
            Err(ExtractError::Unsupported { .. })
        ));
    }

    #[test]
    fn a_damaged_docx_is_refused() {
        let bytes = docx();
        // Truncated: the directory is gone, the main part's name is still there.
        assert_eq!(
            extract("policy.docx", None, &bytes[..bytes.len() * 2 / 3]),
            Err(ExtractError::CorruptDocx)
        );
        // A ZIP naming word/document.xml whose parts are not Word XML.
        let bytes = zip(&[
            ("[Content_Types].xml", b"not xml at all <<<"),
            ("word/document.xml", b"<w:document>"),
        ]);
        assert_eq!(
            extract("policy.docx", None, &bytes),
            Err(ExtractError::CorruptDocx)
        );
        // A name that says DOCX on content that is not a ZIP.
        assert_eq!(
            extract("policy.docx", None, b"plain words"),
            Err(ExtractError::CorruptDocx)
        );
    }

    #[test]
    fn a_docx_declaring_huge_entries_is_refused_before_inflating() {
        let mut bytes = zip(&[("word/document.xml", b"<w:document/>")]);
        // Patch the directory entry's declared uncompressed size to 4 GB.
        let at = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        bytes[at + 24..at + 28].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            extract("big.docx", None, &bytes),
            Err(ExtractError::CorruptDocx)
        );
    }
}
