//! The `knowledge-base` operations (`document_*`): uploads of every supported format (FAQ CSV
//! and JSON, Markdown, plain text, HTML), described as the contract says; listing (newest
//! first, paginated, by kind and category), reading and deleting documents; bad and oversize
//! files refused without a trace; parts other than `file` and `metadata` ignored (within the
//! body limit); file names stored as their bounded base name, and titles drawn from them within
//! the title's limits; a deleted document gone from answers at once; another account's
//! documents not found.

use crate::conformance::support::chat::{
    FAQ, ask, assert_fallback, assert_faq_answer, faq_csv, faq_json, file, upload, upload_faq,
};
use crate::conformance::support::{
    bearer, create_bot, create_key, error_of, expect_error, expect_invalid_field,
    refused_as_missing, register,
};
use botwire_client::types::{self, DocumentKind, DocumentListKind, ErrorCode};
use botwire_client::{Client, Upload};
use botwire_conformance::{TestContext, on_both_databases};
use uuid::Uuid;

/// A Markdown guide of a few thousand characters (several passages).
fn markdown_guide() -> String {
    let mut guide = String::from("# Product care guide\n\n");
    for (section, topic) in [
        ("Leather boots", "leather"),
        ("Wool sweaters", "wool"),
        ("Rain jackets", "waterproof fabric"),
        ("Cotton shirts", "cotton"),
    ] {
        guide.push_str(&format!("## {section}\n\n"));
        for n in 1..=4 {
            guide.push_str(&format!(
                "Step {n} for {topic}: clean it gently with cold water and a soft brush, let \
                 it dry away from direct heat, and store it in a cool, dry place. Repeat the \
                 treatment every few months so that the {topic} keeps its shape and colour.\n\n"
            ));
        }
    }
    guide
}

const OPENING_HOURS: &str = "Our warehouse in Gothenburg is open for collections on weekdays \
    from 09:00 to 17:00. Bring the order confirmation and a photo ID.";

fn html_page() -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><title>Collections</title></head><body>\n\
         <h1>Collecting an order</h1>\n<p>{OPENING_HOURS}</p>\n\
         <script>console.log('not text')</script>\n</body></html>\n"
    )
}

async fn document_create_reads_and_describes_every_supported_format(ctx: &TestContext) {
    let session = register(ctx, "kb-formats@example.test", "Librarian").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Formats").await;

    // FAQ CSV, titled and categorised by its metadata.
    let csv = faq_csv(FAQ);
    let mut with_metadata = file("store-faq.csv", csv.clone());
    with_metadata.title = Some("Store FAQ".into());
    with_metadata.category = Some("support".into());
    let faq = upload(&owner, bot.id, with_metadata).await;
    assert_eq!(faq.kind, DocumentKind::FaqCsv);
    assert_eq!((faq.faq_count, faq.chunk_count), (FAQ.len() as u64, 0));
    assert_eq!(faq.title, "Store FAQ");
    assert_eq!(faq.category.as_deref(), Some("support"));
    assert_eq!(faq.filename, "store-faq.csv");
    assert_eq!(faq.size_bytes, csv.len() as u64);
    assert_eq!(faq.bot_id, bot.id);
    assert_eq!(faq.status, types::DocumentStatus::Ready);
    insta::assert_json_snapshot!("document", &faq, {
        ".id" => "[id]",
        ".bot_id" => "[bot id]",
        ".created_at" => "[time]",
    });

    // FAQ JSON, titled by its file name.
    let pairs = [
        (
            "Can I pay by invoice?",
            "Yes, businesses can pay by invoice within 30 days.",
        ),
        (
            "Do you offer gift cards?",
            "Gift cards from 10 to 500 euros are sold in our shop.",
        ),
    ];
    let json = upload(&owner, bot.id, file("payments.json", faq_json(&pairs))).await;
    assert_eq!(json.kind, DocumentKind::FaqJson);
    assert_eq!((json.faq_count, json.chunk_count), (2, 0));
    assert_eq!(json.title, "payments.json");
    assert_eq!(json.category, None);

    // Markdown, long enough for several passages.
    let guide = markdown_guide();
    let markdown = upload(&owner, bot.id, file("care-guide.md", guide.clone())).await;
    assert_eq!(markdown.kind, DocumentKind::Markdown);
    assert_eq!(markdown.faq_count, 0);
    assert!(
        markdown.chunk_count >= 3,
        "{} characters in {} passages",
        guide.len(),
        markdown.chunk_count
    );
    assert_eq!(markdown.size_bytes, guide.len() as u64);

    // Plain text: one short passage.
    let text = upload(&owner, bot.id, file("hours.txt", OPENING_HOURS)).await;
    assert_eq!(text.kind, DocumentKind::Text);
    assert_eq!((text.faq_count, text.chunk_count), (0, 1));
    assert_eq!(text.title, "hours.txt");

    // HTML, detected from its content whatever the name.
    let mut page = file("collections", html_page());
    page.title = Some("Collections".into());
    let html = upload(&owner, bot.id, page).await;
    assert_eq!(html.kind, DocumentKind::Html);
    assert_eq!((html.faq_count, html.chunk_count), (0, 1));
    assert_eq!(html.title, "Collections");

    // Each reads back as uploaded, and the bot answers from the FAQ files at once.
    for document in [&faq, &json, &markdown, &text, &html] {
        let got = owner
            .document_get()
            .bot_id(bot.id)
            .document_id(document.id)
            .send()
            .await
            .expect("document_get");
        assert_eq!(got.status(), 200);
        assert_eq!(&got.into_inner(), document);
    }
    let reply = ask(&owner, bot.id, "formats-1", FAQ[0].0).await;
    assert_faq_answer(&reply, &faq, FAQ[0].1);
    let reply = ask(&owner, bot.id, "formats-1", pairs[1].0).await;
    assert_faq_answer(&reply, &json, pairs[1].1);
}

async fn document_list_is_newest_first_by_kind_and_category(ctx: &TestContext) {
    let session = register(ctx, "kb-list@example.test", "Lister").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Lists").await;
    let mut first = file("a.csv", faq_csv(&FAQ[..1]));
    first.category = Some("billing".into());
    let first = upload(&owner, bot.id, first).await;
    let second = upload(&owner, bot.id, file("b.txt", OPENING_HOURS)).await;
    let mut third = file("c.csv", faq_csv(&FAQ[1..]));
    third.category = Some("shipping".into());
    let third = upload(&owner, bot.id, third).await;

    let page = owner
        .document_list()
        .bot_id(bot.id)
        .limit(2u64)
        .send()
        .await
        .expect("document_list");
    assert_eq!(page.status(), 200);
    assert_eq!(
        page.data,
        vec![third.clone(), second.clone()],
        "newest first"
    );
    assert_eq!(page.pagination.total, 3);
    assert!(page.pagination.has_more);
    let cursor = page.pagination.next_cursor.clone().expect("a next cursor");
    let next = owner
        .document_list()
        .bot_id(bot.id)
        .limit(2u64)
        .cursor(cursor.as_str())
        .send()
        .await
        .expect("document_list page 2");
    assert_eq!(next.data, vec![first.clone()]);
    assert_eq!(next.pagination.total, 3);
    assert!(!next.pagination.has_more);
    assert_eq!(next.pagination.next_cursor, None);

    let ids = |list: &types::DocumentList| list.data.iter().map(|d| d.id).collect::<Vec<_>>();
    let faqs = owner
        .document_list()
        .bot_id(bot.id)
        .kind(DocumentListKind::FaqCsv)
        .send()
        .await
        .expect("document_list kind=faq_csv");
    assert_eq!(ids(&faqs), vec![third.id, first.id]);
    assert_eq!(faqs.pagination.total, 2);
    let texts = owner
        .document_list()
        .bot_id(bot.id)
        .kind(DocumentListKind::Text)
        .send()
        .await
        .expect("document_list kind=text");
    assert_eq!(ids(&texts), vec![second.id]);
    assert_eq!(texts.pagination.total, 1);
    let pdfs = owner
        .document_list()
        .bot_id(bot.id)
        .kind(DocumentListKind::Pdf)
        .send()
        .await
        .expect("document_list kind=pdf");
    assert_eq!(pdfs.data, vec![]);
    assert_eq!(pdfs.pagination.total, 0);
    let shipping = owner
        .document_list()
        .bot_id(bot.id)
        .category("shipping")
        .send()
        .await
        .expect("document_list category=shipping");
    assert_eq!(ids(&shipping), vec![third.id]);

    let bad = owner
        .document_list()
        .bot_id(bot.id)
        .cursor("not-a-cursor")
        .send()
        .await;
    expect_invalid_field(bad, "cursor");
}

/// The knowledge base as the bot sees it: the documents and the answer to one question.
async fn knowledge_state(
    owner: &Client,
    bot_id: Uuid,
    session: &str,
) -> (Vec<types::Document>, Option<String>, Vec<types::Source>) {
    let list = owner
        .document_list()
        .bot_id(bot_id)
        .send()
        .await
        .expect("document_list")
        .into_inner();
    let reply = ask(owner, bot_id, session, FAQ[0].0).await;
    (list.data, reply.reply, reply.sources)
}

async fn document_create_refuses_a_bad_file_and_leaves_the_knowledge_base_as_it_was(
    ctx: &TestContext,
) {
    let session = register(ctx, "kb-bad@example.test", "Careful").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Careful").await;
    upload_faq(&owner, bot.id).await;
    let before = knowledge_state(&owner, bot.id, "bad-0").await;

    let png: Vec<u8> = [b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".as_slice(), &[0u8; 64]].concat();
    let corrupt_pdf = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\n%%garbage".to_vec();
    let refused: [(&str, Upload); 5] = [
        ("a corrupt PDF", file("refund-policy.pdf", corrupt_pdf)),
        ("a PNG image", file("logo.png", png)),
        (
            "a ZIP that is not a DOCX",
            file("archive.zip", b"PK\x03\x04\x14\0\0\0junk".to_vec()),
        ),
        ("an empty file", file("empty.txt", Vec::new())),
        (
            "a CSV without an answer column",
            file("faq.csv", b"question,reply\nWhy?,Because.\n".to_vec()),
        ),
    ];
    for (n, (what, bad)) in refused.into_iter().enumerate() {
        let result = owner.document_create(&bot.id, bad).await;
        let response = error_of(result);
        assert_eq!(response.status(), 422, "{what}: {:?}", response.error);
        assert_eq!(response.error.code, ErrorCode::ValidationFailed, "{what}");
        assert!(
            response.error.fields.iter().any(|f| f.field == "file"),
            "{what}: {:?}",
            response.error
        );
        let after = knowledge_state(&owner, bot.id, &format!("bad-{}", n + 1)).await;
        assert_eq!(after, before, "{what} changed the knowledge base");
    }
}

async fn document_create_of_a_file_over_10_mb_is_413(ctx: &TestContext) {
    let session = register(ctx, "kb-large@example.test", "Large").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Large").await;
    let line = "Every line of this file says the same thing about nothing at all.\n";
    let too_large: String = line.repeat(10 * 1024 * 1024 / line.len() + 2);
    assert!(too_large.len() > 10 * 1024 * 1024);
    let result = owner
        .document_create(&bot.id, file("huge.txt", too_large))
        .await;
    expect_error(result, 413, ErrorCode::PayloadTooLarge);
    let list = owner.document_list().bot_id(bot.id).send().await;
    assert_eq!(list.expect("document_list").pagination.total, 0);
}

/// Uploads `upload`, which must be accepted, and returns the document as `document_get` reads
/// it back (the same as the upload's answer).
async fn upload_and_get(owner: &Client, bot_id: Uuid, form: Upload) -> types::Document {
    let created = upload(owner, bot_id, form).await;
    let got = owner
        .document_get()
        .bot_id(bot_id)
        .document_id(created.id)
        .send()
        .await
        .expect("document_get");
    assert_eq!(got.status(), 200);
    let got = got.into_inner();
    assert_eq!(got, created);
    got
}

/// Uploads a file under each name `sent` and checks the name stored, which also titles it.
async fn assert_names_stored(owner: &Client, bot_id: Uuid, cases: &[(&str, &str)]) {
    for (sent, stored) in cases {
        let document = upload_and_get(owner, bot_id, file(sent, OPENING_HOURS)).await;
        assert_eq!(document.filename, *stored, "sent as {sent:?}");
        assert_eq!(document.title, *stored, "sent as {sent:?}");
    }
}

async fn document_create_ignores_extra_parts(ctx: &TestContext) {
    let session = register(ctx, "kb-parts@example.test", "Former").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Forms").await;

    // A browser's form: fields beside the file, one of them large (read, not kept).
    let mut form = file("faq.csv", faq_csv(FAQ));
    form.other_parts = vec![
        ("csrf_token".into(), b"3f9a0c".to_vec()),
        ("submit".into(), b"Upload".to_vec()),
        ("notes".into(), vec![b'n'; 1024 * 1024]),
    ];
    let faq = upload_and_get(&owner, bot.id, form).await;
    assert_eq!(faq.kind, DocumentKind::FaqCsv);
    assert_eq!(faq.faq_count, FAQ.len() as u64);
    assert_eq!(
        (faq.filename.as_str(), faq.title.as_str()),
        ("faq.csv", "faq.csv")
    );
    assert_eq!(
        faq.size_bytes,
        faq_csv(FAQ).len() as u64,
        "only the file counts"
    );

    // With metadata too, which still applies.
    let mut form = file("hours.txt", OPENING_HOURS);
    form.title = Some("Opening hours".into());
    form.category = Some("stores".into());
    form.other_parts = vec![("metadata_version".into(), b"2".to_vec())];
    let hours = upload_and_get(&owner, bot.id, form).await;
    assert_eq!(hours.title, "Opening hours");
    assert_eq!(hours.category.as_deref(), Some("stores"));
    assert_eq!(hours.filename, "hours.txt");

    let reply = ask(&owner, bot.id, "parts-1", FAQ[0].0).await;
    assert_faq_answer(&reply, &faq, FAQ[0].1);
}

async fn document_create_counts_ignored_parts_within_the_body_limit(ctx: &TestContext) {
    let session = register(ctx, "kb-parts-large@example.test", "Large former").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Large forms").await;
    let mut form = file("faq.csv", faq_csv(FAQ));
    form.other_parts = vec![("notes".into(), vec![b'n'; 10 * 1024 * 1024 + 1])];
    let result = owner.document_create(&bot.id, form).await;
    expect_error(result, 413, ErrorCode::PayloadTooLarge);
    let list = owner.document_list().bot_id(bot.id).send().await;
    assert_eq!(list.expect("document_list").pagination.total, 0);
}

async fn document_create_keeps_the_base_name_of_a_file_name(ctx: &TestContext) {
    let session = register(ctx, "kb-names@example.test", "Namer").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Names").await;
    let cases = [
        ("../../../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("C:\\Users\\me\\Documents\\hours.txt", "hours.txt"),
        ("/var/tmp/uploads/hours.md", "hours.md"),
        ("exports/", "upload"),
        ("exports/..", "upload"),
    ];
    assert_names_stored(&owner, bot.id, &cases).await;
}

async fn document_create_drops_control_characters_and_blanks_from_a_file_name(ctx: &TestContext) {
    let session = register(ctx, "kb-blank-names@example.test", "Blank").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Blank names").await;
    let cases = [
        ("\t opening\u{9b} hours\u{85}.txt \t", "opening hours.txt"),
        ("", "upload"),
        ("   ", "upload"),
        ("\t\u{9b}", "upload"),
    ];
    assert_names_stored(&owner, bot.id, &cases).await;
}

async fn document_create_bounds_a_title_from_a_long_file_name(ctx: &TestContext) {
    let session = register(ctx, "kb-long-names@example.test", "Long").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Long names").await;

    // 5,004 characters: the name keeps 255, the title 200.
    let sent = format!("{}.txt", "a".repeat(5000));
    let document = upload_and_get(&owner, bot.id, file(&sent, OPENING_HOURS)).await;
    assert_eq!(document.filename, "a".repeat(255));
    assert_eq!(document.title, "a".repeat(200));

    // Cut at a character boundary, not a byte: two bytes a character here.
    let sent = format!("{}.md", "\u{e9}".repeat(5000));
    let document = upload_and_get(&owner, bot.id, file(&sent, OPENING_HOURS)).await;
    assert_eq!(document.filename, "\u{e9}".repeat(255));
    assert_eq!(document.title, "\u{e9}".repeat(200));

    // The title's cut leaves no trailing blank.
    let sent = format!("{} {}", "b".repeat(199), "c".repeat(40));
    let document = upload_and_get(&owner, bot.id, file(&sent, OPENING_HOURS)).await;
    assert_eq!(document.filename, sent);
    assert_eq!(document.title, "b".repeat(199));

    // A title from the metadata is the metadata's, whatever the file name.
    let mut titled = file(&format!("{}.txt", "d".repeat(5000)), OPENING_HOURS);
    titled.title = Some("Opening hours".into());
    let document = upload_and_get(&owner, bot.id, titled).await;
    assert_eq!(document.filename, "d".repeat(255));
    assert_eq!(document.title, "Opening hours");
}

/// The contract's `metadata` bounds a title to 200 characters and a category to 100, and takes
/// an empty or blank one as left out, so no schema-valid metadata is refused.
async fn document_create_takes_a_blank_title_or_category_as_left_out(ctx: &TestContext) {
    let session = register(ctx, "kb-blank-titles@example.test", "Untitled").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Blank titles").await;
    for (title, category) in [("", " "), ("  \t ", ""), ("\u{3000}", "\n")] {
        let mut form = file("hours.txt", OPENING_HOURS);
        form.title = Some(title.into());
        form.category = Some(category.into());
        let document = upload_and_get(&owner, bot.id, form).await;
        assert_eq!(document.title, "hours.txt", "title {title:?}");
        assert_eq!(document.category, None, "category {category:?}");
    }

    let before = owner.document_list().bot_id(bot.id).send().await;
    let before = before.expect("document_list").into_inner();
    for (title, category, field) in [
        ("t".repeat(201), None, "metadata.title"),
        ("Hours".into(), Some("c".repeat(101)), "metadata.category"),
    ] {
        let mut form = file("hours.txt", OPENING_HOURS);
        form.title = Some(title);
        form.category = category;
        let error = expect_error(
            owner.document_create(&bot.id, form).await,
            422,
            ErrorCode::ValidationFailed,
        );
        assert_eq!(error.error.fields[0].field, field);
    }
    let after = owner.document_list().bot_id(bot.id).send().await;
    assert_eq!(after.expect("document_list").into_inner(), before);
}

async fn document_delete_removes_the_document_from_answers_at_once(ctx: &TestContext) {
    let session = register(ctx, "kb-delete@example.test", "Deleter").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Forgetful").await;
    let faq = upload_faq(&owner, bot.id).await;
    let kept = upload(&owner, bot.id, file("hours.txt", OPENING_HOURS)).await;

    let before = ask(&owner, bot.id, "delete-1", FAQ[0].0).await;
    assert_faq_answer(&before, &faq, FAQ[0].1);

    let deleted = owner
        .document_delete()
        .bot_id(bot.id)
        .document_id(faq.id)
        .send()
        .await
        .expect("document_delete");
    assert_eq!(deleted.status(), 204);
    let after = ask(&owner, bot.id, "delete-1", FAQ[0].0).await;
    assert_fallback(&after, &bot.settings.fallback_message);

    expect_error(
        owner
            .document_get()
            .bot_id(bot.id)
            .document_id(faq.id)
            .send()
            .await,
        404,
        ErrorCode::DocumentNotFound,
    );
    expect_error(
        owner
            .document_delete()
            .bot_id(bot.id)
            .document_id(faq.id)
            .send()
            .await,
        404,
        ErrorCode::DocumentNotFound,
    );
    let list = owner.document_list().bot_id(bot.id).send().await;
    assert_eq!(list.expect("document_list").data, vec![kept]);
}

async fn document_operations_on_another_accounts_documents_are_not_found(ctx: &TestContext) {
    let a_session = register(ctx, "kb-alice@example.test", "Alice").await;
    let b_session = register(ctx, "kb-bob@example.test", "Bob").await;
    let a = bearer(ctx, &a_session.token);
    let b = bearer(ctx, &b_session.token);
    let a_bot = create_bot(&a, "Alice's bot").await;
    let a_doc = upload_faq(&a, a_bot.id).await;
    let b_bot = create_bot(&b, "Bob's bot").await;

    let b = &b;
    refused_as_missing("document_create", a_bot.id, |id| async move {
        b.document_create(&id, file("faq.csv", faq_csv(FAQ))).await
    })
    .await;
    refused_as_missing("document_list", a_bot.id, |id| {
        b.document_list().bot_id(id).send()
    })
    .await;
    refused_as_missing("document_get (A's bot)", a_bot.id, |id| {
        b.document_get().bot_id(id).document_id(a_doc.id).send()
    })
    .await;
    refused_as_missing("document_delete (A's bot)", a_bot.id, |id| {
        b.document_delete().bot_id(id).document_id(a_doc.id).send()
    })
    .await;
    // A's document under B's own bot is a document B does not have.
    refused_as_missing("document_get (B's bot)", a_doc.id, |id| {
        b.document_get().bot_id(b_bot.id).document_id(id).send()
    })
    .await;
    refused_as_missing("document_delete (B's bot)", a_doc.id, |id| {
        b.document_delete().bot_id(b_bot.id).document_id(id).send()
    })
    .await;

    // A key of A's account scoped to another of A's bots is forbidden.
    let a_other = create_bot(&a, "Alice's other bot").await;
    let scoped = create_key(&a, "scoped", Some(a_other.id), None).await;
    let scoped = bearer(ctx, &scoped.key);
    expect_error(
        scoped.document_list().bot_id(a_bot.id).send().await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        scoped
            .document_create(&a_bot.id, file("faq.csv", faq_csv(FAQ)))
            .await,
        403,
        ErrorCode::Forbidden,
    );

    let got = a
        .document_get()
        .bot_id(a_bot.id)
        .document_id(a_doc.id)
        .send()
        .await
        .expect("document_get");
    assert_eq!(got.into_inner(), a_doc);
    let list = a.document_list().bot_id(a_bot.id).send().await;
    assert_eq!(list.expect("document_list").pagination.total, 1);
}

on_both_databases!(
    document_create_reads_and_describes_every_supported_format,
    document_list_is_newest_first_by_kind_and_category,
    document_create_refuses_a_bad_file_and_leaves_the_knowledge_base_as_it_was,
    document_create_of_a_file_over_10_mb_is_413,
    document_create_ignores_extra_parts,
    document_create_counts_ignored_parts_within_the_body_limit,
    document_create_keeps_the_base_name_of_a_file_name,
    document_create_drops_control_characters_and_blanks_from_a_file_name,
    document_create_bounds_a_title_from_a_long_file_name,
    document_create_takes_a_blank_title_or_category_as_left_out,
    document_delete_removes_the_document_from_answers_at_once,
    document_operations_on_another_accounts_documents_are_not_found,
);
