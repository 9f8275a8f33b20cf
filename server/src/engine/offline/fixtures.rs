//! Knowledge entries, a small shop's knowledge base and settings for the engine's tests.

use crate::engine::{EngineSettings, EntryContent, KnowledgeEntry};

pub(super) fn faq(id: &str, question: &str, answer: &str) -> KnowledgeEntry {
    KnowledgeEntry {
        id: id.into(),
        document_id: uuid::Uuid::from_u128(1),
        title: "FAQ".into(),
        content: EntryContent::Faq {
            question: question.into(),
            answer: answer.into(),
        },
    }
}

pub(super) fn passage(id: &str, document: u128, title: &str, text: &str) -> KnowledgeEntry {
    KnowledgeEntry {
        id: id.into(),
        document_id: uuid::Uuid::from_u128(document),
        title: title.into(),
        content: EntryContent::Passage { text: text.into() },
    }
}

pub(super) fn settings(confidence_threshold: f64) -> EngineSettings {
    EngineSettings {
        confidence_threshold,
        fallback_message: "Sorry, I do not know. Ask a human?".into(),
        default_language: "en".into(),
    }
}

pub(super) fn shop() -> Vec<KnowledgeEntry> {
    vec![
        faq(
            "faq-1",
            "How do refunds work?",
            "Refunds are issued to the original payment method within 14 days.",
        ),
        faq(
            "faq-2",
            "How long does shipping take?",
            "Orders ship within 2 business days and arrive in 3 to 5 days.",
        ),
        faq(
            "faq-3",
            "Can I change my delivery address?",
            "Yes, until the order ships: write to support with the new address.",
        ),
        faq(
            "faq-4",
            "Do you ship internationally?",
            "We ship to the EU, the UK and Norway.",
        ),
        faq(
            "faq-5",
            "How do I reset my password?",
            "Choose 'Forgot password' on the sign-in page and follow the link we mail you.",
        ),
        passage(
            "doc-7#0",
            7,
            "Returns policy",
            "Items can be returned within 30 days of delivery in their original packaging. \
             Return shipping is free for defective items.",
        ),
    ]
}
