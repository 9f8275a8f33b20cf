//! `chat_send`: a message and its stored reply (from the knowledge base, or the fallback with a
//! "talk to a human" action), its language, the bot's limits, bot-scoped keys, first messages
//! of a session at once; in their own modules, visitors with the widget token (`widget`),
//! retries with an `Idempotency-Key` (`idempotency`), the monthly quota (`quota`), the group
//! commit that stores exchanges (`group_commit`), and the LLM engine, scripted (`llm`) and real
//! (`llm_e2e`).

mod group_commit;
mod idempotency;
mod llm;
mod llm_e2e;
mod quota;
mod widget;

use crate::conformance::support::chat::{
    FAQ, UNKNOWN_QUESTION, ask, assert_fallback, assert_faq_answer, bot_with_faq, conversation,
    faq_csv, faq_json, file, history, message, upload, upload_faq,
};
use crate::conformance::support::{
    bearer, create_bot, create_key, expect_error, expect_invalid_field, register, some,
    update_settings,
};
use botwire_client::types::{
    self, BotEngineKind, ConversationStatus, ErrorCode, MessageRole, SuggestedActionType,
};
use botwire_conformance::{TestContext, on_both_databases};
use uuid::Uuid;

/// Settings that change nothing but what a test sets, and `message_max_length`, which the
/// generated client always sends (2000 unless set: the contract gives it a default).
fn settings() -> types::BotSettingsInput {
    types::BotSettingsInput::default()
}

async fn chat_send_gets_a_stored_reply_from_the_knowledge_base(ctx: &TestContext) {
    let (owner, bot, faq) = bot_with_faq(ctx, "chat@example.test").await;

    let response = owner
        .chat_send()
        .body(
            message(Some(bot.id), Some("cust-1"), FAQ[0].0)
                .user_id(some::<types::ChatSendUserId>("u-1")),
        )
        .send()
        .await
        .expect("chat_send");
    assert_eq!(response.status(), 200);
    let reply = response.into_inner();
    assert_faq_answer(&reply, &faq, FAQ[0].1);
    assert_eq!(reply.session_id, "cust-1");
    assert_eq!(reply.language, "en");
    assert_eq!(reply.engine, Some(BotEngineKind::Offline));
    assert!(!reply.handed_off);
    let message_id = reply.message_id.expect("a stored reply");
    assert_ne!(message_id, reply.user_message_id);
    insta::assert_json_snapshot!("chat_reply", &reply, {
        ".conversation_id" => "[conversation id]",
        ".message_id" => "[message id]",
        ".user_message_id" => "[user message id]",
        ".created_at" => "[time]",
        ".sources[].document_id" => "[document id]",
        ".sources[].score" => "[score]",
    });

    // A question the knowledge base cannot answer: the fallback and a way to a human.
    let unknown = ask(&owner, bot.id, "cust-1", UNKNOWN_QUESTION).await;
    assert_fallback(&unknown, &bot.settings.fallback_message);
    assert_eq!(
        unknown.conversation_id, reply.conversation_id,
        "one conversation per session"
    );
    assert_eq!(unknown.engine, Some(BotEngineKind::Offline));
    assert!(
        unknown
            .suggested_actions
            .iter()
            .all(|a| a.type_ == SuggestedActionType::Handoff),
        "nothing near to suggest: {unknown:?}"
    );
    // A question near some FAQ questions, with the bar set high: they are suggested as
    // replies, before the way to a human.
    let strict = update_settings(
        &owner,
        bot.id,
        types::BotSettingsInput {
            engine: Some(types::BotEngineSettingsInput {
                confidence_threshold: Some(0.99),
                ..Default::default()
            }),
            ..settings()
        },
    )
    .await;
    assert_eq!(strict.settings.engine.confidence_threshold, 0.99);
    let near = ask(
        &owner,
        bot.id,
        "cust-1",
        "How long does shipping to Norway take?",
    )
    .await;
    assert_fallback(&near, &bot.settings.fallback_message);
    let suggested: Vec<&str> = near
        .suggested_actions
        .iter()
        .filter(|a| a.type_ == SuggestedActionType::Reply)
        .map(|a| {
            assert_eq!(a.label, a.payload, "{near:?}");
            a.payload.as_str()
        })
        .collect();
    assert!(suggested.contains(&FAQ[0].0), "{near:?}");
    assert!(suggested.contains(&FAQ[1].0), "{near:?}");
    assert!(!suggested.contains(&FAQ[2].0), "{near:?}");
    assert_eq!(
        near.suggested_actions.last().map(|a| a.type_),
        Some(SuggestedActionType::Handoff)
    );

    // The conversation holds all six messages, oldest first, as the replies said.
    let got = conversation(&owner, reply.conversation_id).await;
    let conv = &got.conversation;
    assert_eq!(conv.id, reply.conversation_id);
    assert_eq!(conv.bot_id, bot.id);
    assert_eq!(conv.session_id, "cust-1");
    assert_eq!(conv.status, ConversationStatus::Open);
    assert!(!conv.handed_off);
    assert_eq!(conv.message_count, 6);
    assert_eq!(got.messages.len(), 6);
    assert_eq!(
        conv.last_message_at,
        got.messages.last().map(|m| m.created_at)
    );
    let roles: Vec<MessageRole> = got.messages.iter().map(|m| m.role).collect();
    use MessageRole::{Assistant, User};
    assert_eq!(roles, [User, Assistant, User, Assistant, User, Assistant]);
    for (pair, reply) in got.messages.chunks(2).zip([&reply, &unknown, &near]) {
        let (user, assistant) = (&pair[0], &pair[1]);
        assert_eq!(user.id, reply.user_message_id);
        assert_eq!(user.engine, None);
        assert_eq!(user.sources, vec![]);
        assert_eq!(user.suggested_actions, vec![]);
        assert_eq!(Some(assistant.id), reply.message_id);
        assert_eq!(Some(&assistant.content), reply.reply.as_ref());
        assert_eq!(assistant.sources, reply.sources);
        assert_eq!(assistant.suggested_actions, reply.suggested_actions);
        assert_eq!(assistant.engine, Some(BotEngineKind::Offline));
        assert_eq!(
            assistant.created_at, reply.created_at,
            "the reply's time is the message's"
        );
        assert!(user.created_at <= assistant.created_at);
        for m in pair {
            assert_eq!(m.conversation_id, conv.id);
            assert_eq!(m.language.as_deref(), Some("en"));
            assert_eq!(m.agent_id, None);
        }
    }
    assert_eq!(got.messages[0].content, FAQ[0].0);
    insta::assert_json_snapshot!("conversation", &got.conversation, {
        ".id" => "[id]",
        ".bot_id" => "[bot id]",
        ".created_at" => "[time]",
        ".updated_at" => "[time]",
        ".last_message_at" => "[time]",
    });
    let message_redactions = |name: &str, message: &types::Message| {
        insta::assert_json_snapshot!(name, message, {
            ".id" => "[id]",
            ".conversation_id" => "[conversation id]",
            ".created_at" => "[time]",
            ".sources[].document_id" => "[document id]",
            ".sources[].score" => "[score]",
        });
    };
    message_redactions("message_user", &got.messages[0]);
    message_redactions("message_assistant", &got.messages[1]);
    message_redactions("message_assistant_fallback", &got.messages[3]);
}

/// FAQs in Swedish and French, beside the English [`FAQ`]: the engine detects a message's
/// language among those of the knowledge base.
const SWEDISH_FAQ: &[(&str, &str)] = &[
    (
        "Hur lång tid tar en återbetalning?",
        "Återbetalningen når ditt ursprungliga betalningssätt inom 14 dagar efter att vi har \
         tagit emot returen.",
    ),
    (
        "Kan jag byta storlek på en vara?",
        "Ja, du kan byta till en annan storlek inom 30 dagar så länge varan är oanvänd och har \
         kvar sina etiketter.",
    ),
];
const FRENCH_FAQ: &[(&str, &str)] = &[
    (
        "Combien de temps prend un remboursement ?",
        "Le remboursement arrive sur votre moyen de paiement d'origine dans les quatorze jours \
         suivant la réception du retour.",
    ),
    (
        "Livrez-vous en Norvège ?",
        "Oui, nous livrons en Norvège et dans le reste de l'Europe, avec suivi, en trois à cinq \
         jours ouvrés.",
    ),
];

async fn chat_send_replies_in_the_requests_language_or_the_detected_one(ctx: &TestContext) {
    let (owner, bot, _) = bot_with_faq(ctx, "language@example.test").await;
    let swedish = upload(&owner, bot.id, file("faq-sv.csv", faq_csv(SWEDISH_FAQ))).await;
    upload(&owner, bot.id, file("faq-fr.json", faq_json(FRENCH_FAQ))).await;

    let named = owner
        .chat_send()
        .body(
            message(Some(bot.id), Some("lang-1"), FAQ[0].0)
                .language(some::<types::ChatSendLanguage>("de")),
        )
        .send()
        .await
        .expect("chat_send with a language");
    assert_eq!(named.language, "de", "named in the request");
    let detected = [
        (
            "Hur lång tid tar det innan jag får tillbaka pengarna?",
            "sv",
        ),
        (
            "Combien de temps faut-il pour obtenir un remboursement ?",
            "fr",
        ),
        ("When will my refund arrive on my card?", "en"),
    ];
    for (text, language) in detected {
        let reply = ask(&owner, bot.id, "lang-1", text).await;
        assert_eq!(reply.language, language, "{text}");
    }
    let reply = ask(&owner, bot.id, "lang-1", SWEDISH_FAQ[0].0).await;
    assert_eq!(reply.language, "sv");
    assert_faq_answer(&reply, &swedish, SWEDISH_FAQ[0].1);
    // Too short to tell: the bot's default language.
    let short = ask(&owner, bot.id, "lang-1", "ok?").await;
    assert_eq!(short.language, "en");
    update_settings(
        &owner,
        bot.id,
        types::BotSettingsInput {
            default_language: some("sv"),
            ..settings()
        },
    )
    .await;
    let short = ask(&owner, bot.id, "lang-1", "ok?").await;
    assert_eq!(short.language, "sv");
    // The user's messages carry the language too.
    let messages = history(&owner, bot.id, "lang-1").await;
    let languages: Vec<Option<&str>> = messages
        .iter()
        .filter(|m| m.role == MessageRole::User)
        .map(|m| m.language.as_deref())
        .collect();
    assert_eq!(
        languages,
        [
            Some("de"),
            Some("sv"),
            Some("fr"),
            Some("en"),
            Some("sv"),
            Some("en"),
            Some("sv")
        ]
    );
}

async fn chat_send_refuses_an_inactive_bot_and_a_too_long_message(ctx: &TestContext) {
    let (owner, bot, faq) = bot_with_faq(ctx, "limits@example.test").await;
    let updated = update_settings(
        &owner,
        bot.id,
        types::BotSettingsInput {
            message_max_length: Some(30.try_into().unwrap()),
            ..settings()
        },
    )
    .await;
    assert_eq!(updated.settings.message_max_length.get(), 30);
    let send = |text: String| {
        owner
            .chat_send()
            .body(message(Some(bot.id), Some("limits-1"), &text))
            .send()
    };

    expect_invalid_field(send("x".repeat(31)).await, "message");
    // Characters, not bytes.
    let fits = send("å".repeat(30)).await.expect("30 characters fit");
    assert_eq!(fits.status(), 200);
    assert_eq!(
        history(&owner, bot.id, "limits-1").await.len(),
        2,
        "the refused one is not stored"
    );

    owner
        .bot_deactivate()
        .bot_id(bot.id)
        .send()
        .await
        .expect("bot_deactivate");
    expect_error(send(FAQ[0].0.into()).await, 403, ErrorCode::BotInactive);
    assert_eq!(history(&owner, bot.id, "limits-1").await.len(), 2);
    owner
        .bot_activate()
        .bot_id(bot.id)
        .send()
        .await
        .expect("bot_activate");
    let reply = send(FAQ[0].0.into())
        .await
        .expect("chat_send after activation");
    assert_faq_answer(&reply, &faq, FAQ[0].1);

    // Without a session or a bot (an owner must name both).
    let no_session = owner
        .chat_send()
        .body(message(Some(bot.id), None, "Hi there"))
        .send()
        .await;
    expect_invalid_field(no_session, "session_id");
    let no_bot = owner
        .chat_send()
        .body(message(None, Some("limits-1"), "Hi there"))
        .send()
        .await;
    expect_invalid_field(no_bot, "bot_id");
    // A conversation that is not the session's.
    let foreign = owner
        .chat_send()
        .body(
            message(Some(bot.id), Some("limits-2"), "Hi there")
                .conversation_id(Some(Uuid::new_v4())),
        )
        .send()
        .await;
    expect_error(foreign, 404, ErrorCode::ConversationNotFound);
}

async fn chat_send_with_a_bot_scoped_key_needs_no_bot_id(ctx: &TestContext) {
    let (owner, bot, faq) = bot_with_faq(ctx, "scoped-chat@example.test").await;
    let other_bot = create_bot(&owner, "Other").await;
    let theirs = ask(&owner, other_bot.id, "other-1", "Hello there, anyone?").await;
    let scoped = create_key(&owner, "scoped", Some(bot.id), None).await;
    let scoped = bearer(ctx, &scoped.key);

    let reply = scoped
        .chat_send()
        .body(message(None, Some("scoped-1"), FAQ[0].0))
        .send()
        .await
        .expect("chat_send without bot_id")
        .into_inner();
    assert_faq_answer(&reply, &faq, FAQ[0].1);
    let got = conversation(&scoped, reply.conversation_id).await;
    assert_eq!(got.conversation.bot_id, bot.id);
    assert_eq!(history(&scoped, bot.id, "scoped-1").await.len(), 2);

    expect_error(
        scoped
            .chat_send()
            .body(message(Some(other_bot.id), Some("scoped-1"), "Hi"))
            .send()
            .await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        scoped
            .conversation_get()
            .conversation_id(theirs.conversation_id)
            .send()
            .await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        scoped
            .session_history()
            .bot_id(other_bot.id)
            .session_id("other-1")
            .send()
            .await,
        403,
        ErrorCode::Forbidden,
    );
    // An account-wide key must name the bot.
    let account_key = create_key(&owner, "account-wide", None, None).await;
    let unnamed = bearer(ctx, &account_key.key)
        .chat_send()
        .body(message(None, Some("scoped-1"), "Hi"))
        .send()
        .await;
    expect_invalid_field(unnamed, "bot_id");
}

/// Several first messages of one session at once: each is answered, in one conversation (the
/// benchmark once found some of them answered 500, on a unique-key conflict).
async fn chat_send_of_first_messages_of_a_session_at_once_shares_its_conversation(
    ctx: &TestContext,
) {
    let session = register(ctx, "burst@example.test", "Burst").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Burst").await;
    upload_faq(&owner, bot.id).await;
    let sends = (0..12).map(|n| {
        let owner = owner.clone();
        async move {
            let text = format!("{} ({n})", FAQ[n % FAQ.len()].0);
            ask(&owner, bot.id, "burst-1", &text).await
        }
    });
    let replies = futures::future::join_all(sends).await;
    let conversation = replies[0].conversation_id;
    assert!(replies.iter().all(|r| r.conversation_id == conversation));
    let messages = history(&owner, bot.id, "burst-1").await;
    assert_eq!(messages.len(), 24);
    let sessions = owner
        .session_list()
        .bot_id(bot.id)
        .send()
        .await
        .expect("session_list");
    assert_eq!(sessions.data.len(), 1);
    assert_eq!(sessions.data[0].message_count, 24);
}

on_both_databases!(
    chat_send_gets_a_stored_reply_from_the_knowledge_base,
    chat_send_replies_in_the_requests_language_or_the_detected_one,
    chat_send_refuses_an_inactive_bot_and_a_too_long_message,
    chat_send_with_a_bot_scoped_key_needs_no_bot_id,
    chat_send_of_first_messages_of_a_session_at_once_shares_its_conversation,
);
