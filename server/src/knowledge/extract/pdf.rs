//! PDF text, read by pdf-extract under a panic guard once its streams are bounded.

use super::bounds::pdf_inflates_within_bounds;
use super::{ExtractError, guarded};

pub(super) fn pdf_text(bytes: &[u8]) -> Result<String, ExtractError> {
    if !pdf_inflates_within_bounds(bytes) {
        return Err(ExtractError::CorruptPdf);
    }
    guarded(|| pdf_extract::extract_text_from_mem(bytes))
        .ok_or(ExtractError::CorruptPdf)?
        .map_err(|_| ExtractError::CorruptPdf)
}

#[cfg(test)]
mod tests {
    use crate::knowledge::extract::{ExtractError, extract, text_of};
    use botwire_api::types::DocumentKind;

    // -- Fixtures, built here ---------------------------------------------------------------

    /// A one-page PDF, written by hand: Helvetica (a standard font, so no font file), one
    /// line of text per `lines`, the cross-reference table's offsets computed.
    fn pdf(lines: &[&str], font: &str) -> Vec<u8> {
        let mut content = String::from("BT /F1 12 Tf 72 720 Td 16 TL\n");
        for line in lines {
            let escaped = line
                .replace('\\', "\\\\")
                .replace('(', "\\(")
                .replace(')', "\\)");
            content.push_str(&format!("({escaped}) Tj T*\n"));
        }
        content.push_str("ET");
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
             /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
                .to_owned(),
            format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len()
            ),
            font.to_owned(),
        ];
        let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
        let mut offsets = Vec::new();
        for (i, object) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for offset in offsets {
            out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        out
    }

    const HELVETICA: &str = "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>";

    #[test]
    fn reads_a_pdf() {
        let bytes = pdf(
            &["Refunds are paid within 14 days.", "Call (555) 0100."],
            HELVETICA,
        );
        let text = text_of(
            extract("policy.pdf", Some("application/pdf"), &bytes),
            DocumentKind::Pdf,
        );
        assert!(
            text.contains("Refunds are paid within 14 days."),
            "{text:?}"
        );
        assert!(text.contains("Call (555) 0100."), "{text:?}");
        // Detected by content, whatever the name says.
        let text = text_of(extract("upload.bin", None, &bytes), DocumentKind::Pdf);
        assert!(text.contains("Refunds"), "{text:?}");
    }

    #[test]
    fn a_truncated_or_damaged_pdf_is_refused() {
        let bytes = pdf(&["Refunds are paid within 14 days."], HELVETICA);
        for cut in [bytes.len() / 2, 40, 9] {
            assert_eq!(
                extract("policy.pdf", None, &bytes[..cut]),
                Err(ExtractError::CorruptPdf),
                "cut at {cut}"
            );
        }
        assert_eq!(
            extract("policy.pdf", None, b"%PDF-1.7\n\x00\x01\x02 not really"),
            Err(ExtractError::CorruptPdf)
        );
        // A name that says PDF on content that is not one.
        assert_eq!(
            extract("policy.pdf", None, b"Just some text."),
            Err(ExtractError::CorruptPdf)
        );
        // Text that mentions the header is text; junk before the header is read as PDF
        // when the name says PDF.
        let about = b"A PDF file starts with %PDF-1.7 and ends with %%EOF.";
        assert_eq!(
            extract("notes.txt", None, about).map(|e| e.kind()),
            Ok(DocumentKind::Text)
        );
        let mut prefixed = b"junk before the header\n".to_vec();
        prefixed.extend(pdf(&["Hello there."], HELVETICA));
        assert!(
            text_of(extract("x.pdf", None, &prefixed), DocumentKind::Pdf).contains("Hello there.")
        );
    }

    #[test]
    fn a_pdf_that_makes_the_parser_panic_is_refused() {
        // pdf-extract panics ("unexpected encoding") on an encoding name it does not know.
        let bytes = pdf(
            &["Hello"],
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /NoSuchEncoding >>",
        );
        assert_eq!(
            extract("x.pdf", None, &bytes),
            Err(ExtractError::CorruptPdf)
        );
    }

    #[test]
    fn a_pdf_without_text_has_no_text() {
        let bytes = pdf(&[], HELVETICA);
        assert_eq!(extract("scan.pdf", None, &bytes), Err(ExtractError::NoText));
    }
}
