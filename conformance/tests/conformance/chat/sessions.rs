//! `session_list`, `session_history` and `session_delete`: a bot's sessions, most recently
//! active first, filtered and paginated; a session's messages, oldest first, a page at a time;
//! a session deleted with its conversation and messages.

use crate::conformance::support::chat::{FAQ, bot_with_faq, history, message};
use crate::conformance::support::{expect_error, expect_invalid_field, some};
use botwire_client::types::{self, ErrorCode};
use botwire_conformance::{TestContext, on_both_databases};

async fn session_list_session_history_and_session_delete(ctx: &TestContext) {
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

on_both_databases!(session_list_session_history_and_session_delete);
