//! Chat: a message and its stored reply (from the knowledge base, or the fallback with a
//! "talk to a human" action), its language, the bot's limits; sessions, their history and
//! deletion; conversations handed to a human and back; feedback; retries with an
//! `Idempotency-Key`; the monthly quota; visitors with the widget token; bot-scoped keys; and
//! another account's conversations and sessions, not found.

use super::support::{
    FAQ, UNKNOWN_QUESTION, ask, assert_fallback, assert_faq_answer, bearer, create_bot, create_key,
    error_of, expect_error, expect_invalid_field, faq_csv, faq_json, file, history, message,
    register, some, unstreamed, update_settings, upload, upload_faq, widget,
};
use botwire_client::types::{
    self, BotEngineKind, ConversationStatus, ErrorCode, FeedbackRating, MessageRole,
    SuggestedActionType,
};
use botwire_client::{Client, Error, ResponseValue};
use botwire_conformance::{Backend, TestContext, on_both_databases};
use std::future::Future;
use uuid::Uuid;

/// An owner with a bot that answers [`FAQ`].
async fn bot_with_faq(ctx: &TestContext, email: &str) -> (Client, types::Bot, types::Document) {
    let session = register(ctx, email, "Chat Owner").await;
    let owner = bearer(ctx, &session.token);
    let bot = create_bot(&owner, "Acme Support").await;
    let faq = upload_faq(&owner, bot.id).await;
    (owner, bot, faq)
}

async fn conversation(client: &Client, id: Uuid) -> types::ConversationWithMessages {
    let response = client
        .conversation_get()
        .conversation_id(id)
        .send()
        .await
        .expect("conversation_get");
    assert_eq!(response.status(), 200);
    response.into_inner()
}

/// Settings that change nothing but what a test sets, and `message_max_length`, which the
/// generated client always sends (2000 unless set: the contract gives it a default).
fn settings() -> types::BotSettingsInput {
    types::BotSettingsInput::default()
}

async fn a_message_gets_a_stored_reply_from_the_knowledge_base(ctx: &TestContext) {
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

async fn the_reply_language_is_the_requests_or_the_detected_one(ctx: &TestContext) {
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

async fn an_inactive_bot_and_a_too_long_message_are_refused(ctx: &TestContext) {
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

async fn sessions_are_listed_read_and_deleted(ctx: &TestContext) {
    let (owner, bot, _) = bot_with_faq(ctx, "sessions@example.test").await;
    let send = |session: &'static str, user: &'static str, text: &'static str| {
        owner
            .chat_send()
            .body(
                message(Some(bot.id), Some(session), text)
                    .user_id(some::<types::ChatSendUserId>(user)),
            )
            .send()
    };
    let a1 = send("s-a", "alice", FAQ[0].0)
        .await
        .expect("chat_send")
        .into_inner();
    send("s-b", "bob", FAQ[1].0).await.expect("chat_send");
    send("s-c", "alice", FAQ[2].0).await.expect("chat_send");
    let a2 = send("s-a", "alice", FAQ[1].0)
        .await
        .expect("chat_send")
        .into_inner();

    // Most recently active first.
    let page = owner
        .session_list()
        .bot_id(bot.id)
        .limit(2u64)
        .send()
        .await
        .expect("session_list");
    assert_eq!(page.status(), 200);
    let ids = |list: &types::SessionList| {
        list.data
            .iter()
            .map(|s| s.session_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&page), ["s-a", "s-c"]);
    assert_eq!(page.pagination.total, 3);
    assert!(page.pagination.has_more);
    let s_a = &page.data[0];
    assert_eq!(s_a.bot_id, bot.id);
    assert_eq!(s_a.conversation_id, a1.conversation_id);
    assert_eq!(s_a.user_id.as_deref(), Some("alice"));
    assert_eq!(s_a.contact_id, None);
    assert_eq!(s_a.message_count, 4);
    assert_eq!(s_a.last_message_at, a2.created_at);
    assert!(s_a.created_at <= a1.created_at);
    let cursor = page.pagination.next_cursor.clone().expect("a next cursor");
    let next = owner
        .session_list()
        .bot_id(bot.id)
        .limit(2u64)
        .cursor(cursor.as_str())
        .send()
        .await
        .expect("session_list page 2");
    assert_eq!(ids(&next), ["s-b"]);
    assert!(!next.pagination.has_more);
    assert_eq!(next.pagination.next_cursor, None);
    let alice = owner
        .session_list()
        .bot_id(bot.id)
        .user_id("alice")
        .send()
        .await
        .expect("session_list user_id=alice");
    assert_eq!(ids(&alice), ["s-a", "s-c"]);
    assert_eq!(alice.pagination.total, 2);
    let open = owner
        .session_list()
        .bot_id(bot.id)
        .status(types::SessionListStatus::Pending)
        .send()
        .await
        .expect("session_list status=pending");
    assert_eq!(open.pagination.total, 0);

    for bad in [
        owner
            .session_list()
            .bot_id(bot.id)
            .cursor("not-a-cursor")
            .send()
            .await,
        owner
            .session_list()
            .bot_id(bot.id)
            .cursor("12_34")
            .send()
            .await,
    ] {
        expect_invalid_field(bad, "cursor");
    }

    // History: the user's and the bot's messages, oldest first, a page at a time.
    let first = owner
        .session_history()
        .bot_id(bot.id)
        .session_id("s-a")
        .limit(3u64)
        .send()
        .await
        .expect("session_history");
    assert_eq!(first.status(), 200);
    assert_eq!(first.pagination.total, 4);
    assert!(first.pagination.has_more);
    let contents: Vec<&str> = first.data.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(contents, [FAQ[0].0, FAQ[0].1, FAQ[1].0]);
    let rest = owner
        .session_history()
        .bot_id(bot.id)
        .session_id("s-a")
        .limit(3u64)
        .cursor(
            first
                .pagination
                .next_cursor
                .clone()
                .expect("a cursor")
                .as_str(),
        )
        .send()
        .await
        .expect("session_history page 2");
    assert_eq!(rest.data.len(), 1);
    assert_eq!(Some(rest.data[0].id), a2.message_id);
    assert!(!rest.pagination.has_more);
    // Past the last message: an empty page of a session that exists.
    let past = owner
        .session_history()
        .bot_id(bot.id)
        .session_id("s-a")
        .cursor(rest.data[0].id.to_string().as_str())
        .send()
        .await
        .expect("session_history past the end");
    assert!(past.data.is_empty());
    assert_eq!(past.pagination.total, 4);
    assert!(!past.pagination.has_more);
    assert_eq!(past.pagination.next_cursor, None);
    // A session that is not found is that first; a bad cursor of one that is, 422.
    expect_invalid_field(
        owner
            .session_history()
            .bot_id(bot.id)
            .session_id("s-a")
            .cursor("not-a-cursor")
            .send()
            .await,
        "cursor",
    );
    expect_error(
        owner
            .session_history()
            .bot_id(bot.id)
            .session_id("s-none")
            .cursor("not-a-cursor")
            .send()
            .await,
        404,
        ErrorCode::SessionNotFound,
    );
    expect_error(
        owner
            .session_history()
            .bot_id(bot.id)
            .session_id("s-none")
            .send()
            .await,
        404,
        ErrorCode::SessionNotFound,
    );

    // Deleting a session deletes its conversation and messages.
    let deleted = owner
        .session_delete()
        .bot_id(bot.id)
        .session_id("s-a")
        .send()
        .await;
    assert_eq!(deleted.expect("session_delete").status(), 204);
    expect_error(
        owner
            .session_history()
            .bot_id(bot.id)
            .session_id("s-a")
            .send()
            .await,
        404,
        ErrorCode::SessionNotFound,
    );
    expect_error(
        owner
            .conversation_get()
            .conversation_id(a1.conversation_id)
            .send()
            .await,
        404,
        ErrorCode::ConversationNotFound,
    );
    expect_error(
        owner
            .session_delete()
            .bot_id(bot.id)
            .session_id("s-a")
            .send()
            .await,
        404,
        ErrorCode::SessionNotFound,
    );
    let left = owner
        .session_list()
        .bot_id(bot.id)
        .send()
        .await
        .expect("session_list");
    assert_eq!(ids(&left), ["s-c", "s-b"]);
    // The same session id later starts afresh.
    let again = send("s-a", "alice", FAQ[2].0)
        .await
        .expect("chat_send")
        .into_inner();
    assert_ne!(again.conversation_id, a1.conversation_id);
    assert_eq!(history(&owner, bot.id, "s-a").await.len(), 2);
}

async fn a_conversation_handed_to_a_human_is_not_answered_until_handed_back(ctx: &TestContext) {
    let (owner, bot, faq) = bot_with_faq(ctx, "handoff@example.test").await;
    let first = ask(&owner, bot.id, "handoff-1", FAQ[0].0).await;

    let escalated = owner
        .conversation_escalate()
        .conversation_id(first.conversation_id)
        .body(
            types::ConversationEscalate::builder()
                .reason(some::<types::ConversationEscalateReason>("Wants a person")),
        )
        .send()
        .await
        .expect("conversation_escalate");
    assert_eq!(escalated.status(), 200);
    let escalated = escalated.into_inner();
    assert!(escalated.handed_off);
    assert_eq!(escalated.status, ConversationStatus::Pending);
    assert_eq!(
        escalated.message_count, 3,
        "a system message notes the handoff"
    );
    let got = conversation(&owner, first.conversation_id).await;
    assert_eq!(got.conversation, escalated);
    let note = got.messages.last().expect("messages");
    assert_eq!(note.role, MessageRole::System);
    assert_eq!(escalated.last_message_at, Some(note.created_at));

    // The bot is silent: the message is stored for the agent.
    let silent = ask(&owner, bot.id, "handoff-1", FAQ[1].0).await;
    assert_eq!(silent.reply, None);
    assert_eq!(silent.message_id, None);
    assert!(silent.handed_off);
    assert_eq!(silent.engine, None);
    assert_eq!(silent.sources, vec![]);
    assert_eq!(silent.suggested_actions, vec![]);
    assert_eq!(silent.conversation_id, first.conversation_id);
    let messages = history(&owner, bot.id, "handoff-1").await;
    let roles: Vec<MessageRole> = messages.iter().map(|m| m.role).collect();
    use MessageRole::{Assistant, System, User};
    assert_eq!(roles, [User, Assistant, System, User]);
    assert_eq!(messages[3].id, silent.user_message_id);
    let got = conversation(&owner, first.conversation_id).await;
    assert_eq!(got.conversation.status, ConversationStatus::Pending);
    assert_eq!(got.conversation.message_count, 4);

    // Escalating again changes nothing.
    let again = owner
        .conversation_escalate()
        .conversation_id(first.conversation_id)
        .body(types::ConversationEscalate::builder())
        .send()
        .await
        .expect("conversation_escalate again");
    assert_eq!(again.into_inner(), got.conversation);

    // Handed back: the bot answers again; the status is kept until then.
    let back = owner
        .conversation_handback()
        .conversation_id(first.conversation_id)
        .send()
        .await
        .expect("conversation_handback");
    assert_eq!(back.status(), 200);
    assert!(!back.handed_off);
    assert_eq!(
        back.status,
        ConversationStatus::Pending,
        "handback keeps the status"
    );
    assert_eq!(back.message_count, 4);
    let answered = ask(&owner, bot.id, "handoff-1", FAQ[2].0).await;
    assert_faq_answer(&answered, &faq, FAQ[2].1);
    assert!(!answered.handed_off);
    let got = conversation(&owner, first.conversation_id).await;
    assert_eq!(got.conversation.status, ConversationStatus::Open);
    assert_eq!(got.messages.len(), 6);
    // Handing back a conversation that is not handed off returns it unchanged.
    let unchanged = owner
        .conversation_handback()
        .conversation_id(first.conversation_id)
        .send()
        .await
        .expect("conversation_handback again");
    assert_eq!(unchanged.into_inner(), got.conversation);
    expect_error(
        owner
            .conversation_handback()
            .conversation_id(Uuid::new_v4())
            .send()
            .await,
        404,
        ErrorCode::ConversationNotFound,
    );
}

async fn feedback_rates_a_reply_or_the_whole_conversation(ctx: &TestContext) {
    let (owner, bot, _) = bot_with_faq(ctx, "feedback@example.test").await;
    let reply = ask(&owner, bot.id, "feedback-1", FAQ[0].0).await;
    let other = ask(&owner, bot.id, "feedback-2", FAQ[1].0).await;
    let message_id = reply.message_id.expect("a reply");
    let rate = |conversation: Uuid, body: types::builder::FeedbackCreate| {
        owner
            .feedback_create()
            .conversation_id(conversation)
            .body(body)
            .send()
    };

    let up = rate(
        reply.conversation_id,
        types::FeedbackCreate::builder()
            .message_id(Some(message_id))
            .rating(Some(FeedbackRating::Up)),
    )
    .await
    .expect("feedback_create");
    assert_eq!(up.status(), 201);
    assert_eq!(up.conversation_id, reply.conversation_id);
    assert_eq!(up.message_id, Some(message_id));
    assert_eq!(up.rating, Some(FeedbackRating::Up));
    assert_eq!((up.csat, up.comment.as_deref()), (None, None));
    for csat in [1u64, 5] {
        let whole = rate(
            reply.conversation_id,
            types::FeedbackCreate::builder()
                .csat(std::num::NonZeroU64::new(csat))
                .comment(some::<types::FeedbackCreateComment>("Quick and clear")),
        )
        .await
        .expect("feedback_create with a CSAT score");
        assert_eq!(whole.status(), 201);
        assert_eq!(whole.message_id, None);
        assert_eq!(whole.rating, None);
        assert_eq!(whole.csat.map(|c| c.get()), Some(csat));
        assert_eq!(whole.comment.as_deref(), Some("Quick and clear"));
        assert_ne!(whole.id, up.id);
    }

    // A message of another conversation is not found; the user's own message is no reply.
    let foreign = rate(
        reply.conversation_id,
        types::FeedbackCreate::builder()
            .message_id(other.message_id)
            .rating(Some(FeedbackRating::Down)),
    )
    .await;
    expect_error(foreign, 404, ErrorCode::MessageNotFound);
    let not_a_reply = rate(
        reply.conversation_id,
        types::FeedbackCreate::builder()
            .message_id(Some(reply.user_message_id))
            .rating(Some(FeedbackRating::Down)),
    )
    .await;
    expect_invalid_field(not_a_reply, "message_id");
    expect_invalid_field(
        rate(
            reply.conversation_id,
            types::FeedbackCreate::builder().csat(std::num::NonZeroU64::new(6)),
        )
        .await,
        "csat",
    );
    expect_error(
        rate(reply.conversation_id, types::FeedbackCreate::builder()).await,
        422,
        ErrorCode::ValidationFailed,
    );
    expect_error(
        rate(
            Uuid::new_v4(),
            types::FeedbackCreate::builder().rating(Some(FeedbackRating::Up)),
        )
        .await,
        404,
        ErrorCode::ConversationNotFound,
    );
}

async fn a_retry_with_the_same_idempotency_key_replays_the_reply(ctx: &TestContext) {
    let (owner, bot, faq) = bot_with_faq(ctx, "idempotency@example.test").await;
    let send = |key: Option<&'static str>, text: &'static str| {
        let mut request = owner
            .chat_send()
            .body(message(Some(bot.id), Some("retry-1"), text));
        if let Some(key) = key {
            request = request.idempotency_key(key);
        }
        request.send()
    };

    let first = send(Some("key-1"), FAQ[0].0)
        .await
        .expect("chat_send")
        .into_inner();
    assert_faq_answer(&first, &faq, FAQ[0].1);
    let replay = send(Some("key-1"), FAQ[0].0)
        .await
        .expect("chat_send replay");
    assert_eq!(replay.status(), 200);
    assert_eq!(
        replay.into_inner(),
        first,
        "the same reply, ids and time included"
    );
    assert_eq!(
        history(&owner, bot.id, "retry-1").await.len(),
        2,
        "stored once"
    );

    let conflict = send(Some("key-1"), FAQ[1].0).await;
    expect_error(conflict, 409, ErrorCode::Conflict);
    assert_eq!(history(&owner, bot.id, "retry-1").await.len(), 2);

    // Keys are the credential's own: another credential's key-1 is a new message.
    let key = create_key(&owner, "retries", None, None).await;
    let by_key = bearer(ctx, &key.key)
        .chat_send()
        .idempotency_key("key-1")
        .body(message(Some(bot.id), Some("retry-1"), FAQ[0].0))
        .send()
        .await
        .expect("chat_send with another credential")
        .into_inner();
    assert_ne!(by_key.message_id, first.message_id);
    assert_eq!(history(&owner, bot.id, "retry-1").await.len(), 4);

    // Without a key, the same message twice is two messages.
    let one = send(None, FAQ[2].0).await.expect("chat_send").into_inner();
    let two = send(None, FAQ[2].0).await.expect("chat_send").into_inner();
    assert_ne!(one.message_id, two.message_id);
    assert_ne!(one.user_message_id, two.user_message_id);
    assert_eq!(history(&owner, bot.id, "retry-1").await.len(), 8);
}

/// Stored replies are deleted once their 24 hours are over (`idempotency_prune`, which each
/// process runs now and then): a young one stays and still replays; once deleted, the same key
/// is a new message.
async fn expired_idempotency_keys_are_deleted(ctx: &TestContext) {
    use botwire_server::store::{chat::idempotency_prune, now};
    let (session, db, _) = super::support::registered(ctx, "expiry@example.test").await;
    let owner = bearer(ctx, &session.token);
    let bot = super::support::create_bot(&owner, "Expiring").await;
    let send = || {
        owner
            .chat_send()
            .idempotency_key("expiring")
            .body(message(Some(bot.id), Some("expiry-1"), "Hello"))
            .send()
    };
    let first = send().await.expect("chat_send").into_inner();

    let an_hour_ago = now() - chrono::Duration::hours(1);
    assert_eq!(
        idempotency_prune(&db, an_hour_ago).await.expect("pruning"),
        0
    );
    let replay = send().await.expect("chat_send replay").into_inner();
    assert_eq!(replay, first, "a young key still replays");

    let deleted = idempotency_prune(&db, now() + chrono::Duration::seconds(1))
        .await
        .expect("pruning");
    assert_eq!(deleted, 1);
    let again = send()
        .await
        .expect("chat_send after the key went")
        .into_inner();
    assert_ne!(
        again.message_id, first.message_id,
        "a new message, not a replay"
    );
    assert_eq!(history(&owner, bot.id, "expiry-1").await.len(), 4);
}

/// With a server-wide quota of two messages a month, the third is refused and not stored;
/// a replay of an answered message is still served.
async fn the_monthly_quota_refuses_the_third_message(backend: Backend) {
    let ctx = TestContext::with(backend, |config| config.monthly_message_quota = Some(2))
        .await
        .expect("starting the test server");
    let (owner, bot, _) = bot_with_faq(&ctx, "quota-chat@example.test").await;
    ask(&owner, bot.id, "quota-1", FAQ[0].0).await;
    let second = owner
        .chat_send()
        .idempotency_key("second")
        .body(message(Some(bot.id), Some("quota-1"), FAQ[1].0))
        .send()
        .await
        .expect("the second message")
        .into_inner();
    let third = owner
        .chat_send()
        .body(message(Some(bot.id), Some("quota-1"), FAQ[2].0))
        .send()
        .await;
    expect_error(third, 403, ErrorCode::QuotaExceeded);
    let streamed = owner
        .chat_stream()
        .body(message(Some(bot.id), Some("quota-2"), FAQ[2].0))
        .send()
        .await;
    expect_error(unstreamed(streamed), 403, ErrorCode::QuotaExceeded);
    assert_eq!(
        history(&owner, bot.id, "quota-1").await.len(),
        4,
        "nothing of the third is stored"
    );
    let replay = owner
        .chat_send()
        .idempotency_key("second")
        .body(message(Some(bot.id), Some("quota-1"), FAQ[1].0))
        .send()
        .await
        .expect("a replay does not count");
    assert_eq!(replay.into_inner(), second);
    ctx.teardown().await;
}

mod the_monthly_quota_refuses_the_third_message {
    use botwire_conformance::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::the_monthly_quota_refuses_the_third_message(Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::the_monthly_quota_refuses_the_third_message(Backend::Postgres).await;
    }
}

async fn a_visitor_chats_in_the_sessions_of_its_widget_token_only(ctx: &TestContext) {
    let (owner, bot, faq) = bot_with_faq(ctx, "widget@example.test").await;
    let other_bot = create_bot(&owner, "Other").await;
    let owners = ask(&owner, bot.id, "owner-1", FAQ[0].0).await;
    let visitor = widget(ctx, &bot.widget_token);

    // No bot, no session: the token names the bot, the server makes the session.
    let reply = visitor
        .chat_send()
        .body(message(None, None, FAQ[1].0))
        .send()
        .await
        .expect("chat_send by a visitor");
    assert_eq!(reply.status(), 200);
    let reply = reply.into_inner();
    assert_faq_answer(&reply, &faq, FAQ[1].1);
    assert!(reply.session_id.starts_with("vs_"), "{reply:?}");
    let session = reply.session_id.clone();
    // The visitor's session goes on, and reads back.
    let next = visitor
        .chat_send()
        .body(message(Some(bot.id), Some(&session), FAQ[2].0))
        .send()
        .await
        .expect("chat_send by a visitor in its session")
        .into_inner();
    assert_eq!(next.conversation_id, reply.conversation_id);
    let own = history(&visitor, bot.id, &session).await;
    assert_eq!(own.len(), 4);
    assert_eq!(
        own,
        history(&owner, bot.id, &session).await,
        "the owner sees it too"
    );

    // Not the owner's sessions, not another bot.
    expect_error(
        visitor
            .session_history()
            .bot_id(bot.id)
            .session_id("owner-1")
            .send()
            .await,
        404,
        ErrorCode::SessionNotFound,
    );
    expect_error(
        visitor
            .chat_send()
            .body(message(None, Some("owner-1"), "Hello?"))
            .send()
            .await,
        404,
        ErrorCode::SessionNotFound,
    );
    expect_error(
        visitor
            .chat_send()
            .body(message(Some(other_bot.id), None, "Hello?"))
            .send()
            .await,
        403,
        ErrorCode::Forbidden,
    );
    expect_error(
        visitor
            .conversation_escalate()
            .conversation_id(owners.conversation_id)
            .body(types::ConversationEscalate::builder())
            .send()
            .await,
        404,
        ErrorCode::ConversationNotFound,
    );
    assert_eq!(history(&owner, bot.id, "owner-1").await.len(), 2);

    // Owner operations are not the visitor's.
    expect_error(
        visitor
            .conversation_get()
            .conversation_id(reply.conversation_id)
            .send()
            .await,
        401,
        ErrorCode::Unauthorized,
    );
    expect_error(
        visitor.session_list().bot_id(bot.id).send().await,
        401,
        ErrorCode::Unauthorized,
    );
    expect_error(
        visitor
            .session_delete()
            .bot_id(bot.id)
            .session_id(session.as_str())
            .send()
            .await,
        401,
        ErrorCode::Unauthorized,
    );
    expect_error(
        visitor
            .conversation_handback()
            .conversation_id(reply.conversation_id)
            .send()
            .await,
        401,
        ErrorCode::Unauthorized,
    );
    expect_error(
        visitor.document_list().bot_id(bot.id).send().await,
        401,
        ErrorCode::Unauthorized,
    );
    expect_error(
        visitor.bot_get().bot_id(bot.id).send().await,
        401,
        ErrorCode::Unauthorized,
    );

    // The visitor rates and escalates its own conversation.
    let rated = visitor
        .feedback_create()
        .conversation_id(reply.conversation_id)
        .body(
            types::FeedbackCreate::builder()
                .message_id(reply.message_id)
                .rating(Some(FeedbackRating::Up)),
        )
        .send()
        .await
        .expect("feedback_create by a visitor");
    assert_eq!(rated.status(), 201);
    let escalated = visitor
        .conversation_escalate()
        .conversation_id(reply.conversation_id)
        .body(types::ConversationEscalate::builder())
        .send()
        .await
        .expect("conversation_escalate by a visitor");
    assert!(escalated.handed_off);
    let silent = visitor
        .chat_send()
        .body(message(None, Some(&session), "Anyone there?"))
        .send()
        .await
        .expect("chat_send while handed off")
        .into_inner();
    assert_eq!(silent.reply, None);
}

async fn a_bot_scoped_key_chats_with_its_bot_without_naming_it(ctx: &TestContext) {
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

/// Asserts that `call` on `theirs` fails exactly as on an id that does not exist: 404, the
/// same code and message.
async fn refused_as_missing<T, F, Fut>(operation: &str, theirs: Uuid, call: F)
where
    T: std::fmt::Debug,
    F: Fn(Uuid) -> Fut,
    Fut: Future<Output = Result<ResponseValue<T>, Error<types::Error>>>,
{
    let missing = error_of(call(Uuid::new_v4()).await);
    let foreign = error_of(call(theirs).await);
    assert_eq!(missing.status(), 404, "{operation}: {:?}", missing.error);
    assert_eq!(foreign.status(), 404, "{operation}: {:?}", foreign.error);
    assert_eq!(foreign.error.code, missing.error.code, "{operation}");
    assert_eq!(foreign.error.message, missing.error.message, "{operation}");
}

async fn another_accounts_conversations_and_sessions_are_not_found(ctx: &TestContext) {
    let (a, a_bot, _) = bot_with_faq(ctx, "chat-alice@example.test").await;
    let a_reply = ask(&a, a_bot.id, "alice-1", FAQ[0].0).await;
    let a_conversation = a_reply.conversation_id;
    let b_session = register(ctx, "chat-bob@example.test", "Bob").await;
    let b = &bearer(ctx, &b_session.token);
    let b_bot = create_bot(b, "Bob's bot").await;

    refused_as_missing("conversation_get", a_conversation, |id| {
        b.conversation_get().conversation_id(id).send()
    })
    .await;
    refused_as_missing("conversation_escalate", a_conversation, |id| {
        b.conversation_escalate()
            .conversation_id(id)
            .body(types::ConversationEscalate::builder())
            .send()
    })
    .await;
    refused_as_missing("conversation_handback", a_conversation, |id| {
        b.conversation_handback().conversation_id(id).send()
    })
    .await;
    refused_as_missing("feedback_create", a_conversation, |id| {
        b.feedback_create()
            .conversation_id(id)
            .body(types::FeedbackCreate::builder().rating(Some(FeedbackRating::Down)))
            .send()
    })
    .await;
    refused_as_missing("chat_send", a_bot.id, |id| {
        b.chat_send()
            .body(message(Some(id), Some("alice-1"), "Mine now"))
            .send()
    })
    .await;
    refused_as_missing("session_list", a_bot.id, |id| {
        b.session_list().bot_id(id).send()
    })
    .await;
    refused_as_missing("session_history", a_bot.id, |id| {
        b.session_history().bot_id(id).session_id("alice-1").send()
    })
    .await;
    refused_as_missing("session_delete", a_bot.id, |id| {
        b.session_delete().bot_id(id).session_id("alice-1").send()
    })
    .await;
    // A's session id under B's bot is a session B does not have.
    for (what, result) in [
        (
            "session_history",
            error_of(
                b.session_history()
                    .bot_id(b_bot.id)
                    .session_id("alice-1")
                    .send()
                    .await,
            ),
        ),
        (
            "session_delete",
            error_of(
                b.session_delete()
                    .bot_id(b_bot.id)
                    .session_id("alice-1")
                    .send()
                    .await,
            ),
        ),
    ] {
        assert_eq!(result.status(), 404, "{what}");
        assert_eq!(result.error.code, ErrorCode::SessionNotFound, "{what}");
    }

    let after = conversation(&a, a_conversation).await;
    assert!(!after.conversation.handed_off);
    assert_eq!(after.conversation.message_count, 2);
    assert_eq!(history(&a, a_bot.id, "alice-1").await.len(), 2);
}

/// Several first messages of one session at once: each is answered, in one conversation (the
/// benchmark once found some of them answered 500, on a unique-key conflict).
async fn first_messages_of_a_session_at_once_share_its_conversation(ctx: &TestContext) {
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
    first_messages_of_a_session_at_once_share_its_conversation,
    a_message_gets_a_stored_reply_from_the_knowledge_base,
    the_reply_language_is_the_requests_or_the_detected_one,
    an_inactive_bot_and_a_too_long_message_are_refused,
    sessions_are_listed_read_and_deleted,
    a_conversation_handed_to_a_human_is_not_answered_until_handed_back,
    feedback_rates_a_reply_or_the_whole_conversation,
    a_retry_with_the_same_idempotency_key_replays_the_reply,
    expired_idempotency_keys_are_deleted,
    a_visitor_chats_in_the_sessions_of_its_widget_token_only,
    a_bot_scoped_key_chats_with_its_bot_without_naming_it,
    another_accounts_conversations_and_sessions_are_not_found,
);
