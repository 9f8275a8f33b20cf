//! The API trait's implementation: one thin method per operation, each handing its inputs
//! to a service and its result to [`reply`]. Operations not built yet answer 501
//! `not_implemented` and are listed in `conformance/unimplemented-operations.txt`.
//!
//! Longer than the ~800 lines a hand-written file should keep to, for a reason: it is the one
//! `impl` block of the generated trait (Rust cannot split an `impl` across files), at about ten
//! lines per operation, in operationId order, so each handler is found by its name.

use super::{Ctx, Limited, Operational, WithJson, raw, reply, serve};
use crate::app::{App, OPENAPI_YAML};
use crate::services::{
    Call, accounts, analytics, bots, chat, contacts, credentials, inbox, knowledge, notifications,
    ops, presence, teams, webhooks,
};
use botwire_api::{
    BotwireApi, HeaderParams, JsonBody, ParsedBody, PathParams, QueryParams, Raw, types,
};
use dropshot::{
    HttpResponseAccepted, HttpResponseCreated, HttpResponseDeleted, HttpResponseOk,
    HttpResponseUpdatedNoContent, MultipartBody,
};

/// The server's implementation of the generated API trait.
pub enum ServerImpl {}

impl BotwireApi for ServerImpl {
    type Context = App;

    async fn account_email_verification_resend(
        rqctx: Ctx,
    ) -> Limited<HttpResponseAccepted<types::Accepted>> {
        serve(&rqctx, (), async |call: &Call<'_>, ()| {
            accounts::account_email_verification_resend(call)
                .await
                .map(HttpResponseAccepted)
        })
        .await
    }

    async fn account_email_verify(
        rqctx: Ctx,
        body: JsonBody<types::AccountEmailVerify>,
    ) -> Limited<HttpResponseOk<types::User>> {
        serve(&rqctx, body, async |call: &Call<'_>, body| {
            accounts::account_email_verify(call, body)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn account_get(rqctx: Ctx) -> Limited<HttpResponseOk<types::User>> {
        serve(&rqctx, (), async |call: &Call<'_>, ()| {
            accounts::account_get(call).await.map(HttpResponseOk)
        })
        .await
    }

    async fn account_login(
        rqctx: Ctx,
        body: JsonBody<types::AccountLogin>,
    ) -> Limited<HttpResponseOk<types::AuthSession>> {
        serve(&rqctx, body, async |call: &Call<'_>, body| {
            accounts::account_login(call, body)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn account_password_forgot(
        rqctx: Ctx,
        body: JsonBody<types::AccountPasswordForgot>,
    ) -> Limited<HttpResponseAccepted<types::Accepted>> {
        serve(&rqctx, body, async |call: &Call<'_>, body| {
            accounts::account_password_forgot(call, body)
                .await
                .map(HttpResponseAccepted)
        })
        .await
    }

    async fn account_password_reset(
        rqctx: Ctx,
        body: JsonBody<types::AccountPasswordReset>,
    ) -> Limited<HttpResponseUpdatedNoContent> {
        serve(&rqctx, body, async |call: &Call<'_>, body| {
            accounts::account_password_reset(call, body)
                .await
                .map(|()| HttpResponseUpdatedNoContent())
        })
        .await
    }

    async fn account_register(
        rqctx: Ctx,
        body: JsonBody<types::AccountRegister>,
    ) -> Limited<HttpResponseCreated<types::AuthSession>> {
        serve(&rqctx, body, async |call: &Call<'_>, body| {
            accounts::account_register(call, body)
                .await
                .map(HttpResponseCreated)
        })
        .await
    }

    async fn account_token_refresh(rqctx: Ctx) -> Limited<HttpResponseOk<types::AuthSession>> {
        serve(&rqctx, (), async |call: &Call<'_>, ()| {
            accounts::account_token_refresh(call)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn account_totp_setup(rqctx: Ctx) -> Limited<HttpResponseOk<types::TotpSetup>> {
        serve(&rqctx, (), async |call: &Call<'_>, ()| {
            accounts::account_totp_setup(call).await.map(HttpResponseOk)
        })
        .await
    }

    async fn account_totp_verify(
        rqctx: Ctx,
        body: JsonBody<types::AccountTotpVerify>,
    ) -> Limited<HttpResponseOk<types::User>> {
        serve(&rqctx, body, async |call: &Call<'_>, body| {
            accounts::account_totp_verify(call, body)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn analytics_conversations_get(
        rqctx: Ctx,
        path: PathParams<types::AnalyticsConversationsGetPath>,
        query: QueryParams<types::AnalyticsConversationsGetQuery>,
    ) -> Limited<HttpResponseOk<types::AnalyticsTimeSeries>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (path, query)| {
                let query = analytics::SeriesQuery {
                    range: analytics::Range::of(query.from, query.to)?,
                    interval: &query.interval.to_string(),
                    timezone: &query.timezone,
                };
                analytics::analytics_series_get(
                    call,
                    path.bot_id,
                    analytics::Series::Conversations,
                    query,
                )
                .await
                .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn analytics_csat_get(
        rqctx: Ctx,
        path: PathParams<types::AnalyticsCsatGetPath>,
        query: QueryParams<types::AnalyticsCsatGetQuery>,
    ) -> Limited<HttpResponseOk<types::AnalyticsCsat>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (path, query)| {
                let range = analytics::Range::of(query.from, query.to)?;
                analytics::analytics_csat_get(call, path.bot_id, range)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn analytics_gaps_get(
        rqctx: Ctx,
        path: PathParams<types::AnalyticsGapsGetPath>,
        query: QueryParams<types::AnalyticsGapsGetQuery>,
    ) -> Limited<HttpResponseOk<types::AnalyticsTopics>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (path, query)| {
                let range = analytics::Range::of(query.from, query.to)?;
                analytics::analytics_topics_get(
                    call,
                    path.bot_id,
                    range,
                    analytics::Grouped::Unanswered,
                    query.limit,
                )
                .await
                .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn analytics_messages_get(
        rqctx: Ctx,
        path: PathParams<types::AnalyticsMessagesGetPath>,
        query: QueryParams<types::AnalyticsMessagesGetQuery>,
    ) -> Limited<HttpResponseOk<types::AnalyticsTimeSeries>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (path, query)| {
                let query = analytics::SeriesQuery {
                    range: analytics::Range::of(query.from, query.to)?,
                    interval: &query.interval.to_string(),
                    timezone: &query.timezone,
                };
                analytics::analytics_series_get(
                    call,
                    path.bot_id,
                    analytics::Series::Messages,
                    query,
                )
                .await
                .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn analytics_overview_get(
        rqctx: Ctx,
        path: PathParams<types::AnalyticsOverviewGetPath>,
        query: QueryParams<types::AnalyticsOverviewGetQuery>,
    ) -> Limited<HttpResponseOk<types::AnalyticsOverview>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (path, query)| {
                let range = analytics::Range::of(query.from, query.to)?;
                analytics::analytics_overview_get(call, path.bot_id, range)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn analytics_topics_get(
        rqctx: Ctx,
        path: PathParams<types::AnalyticsTopicsGetPath>,
        query: QueryParams<types::AnalyticsTopicsGetQuery>,
    ) -> Limited<HttpResponseOk<types::AnalyticsTopics>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (path, query)| {
                let range = analytics::Range::of(query.from, query.to)?;
                analytics::analytics_topics_get(
                    call,
                    path.bot_id,
                    range,
                    analytics::Grouped::All,
                    query.limit,
                )
                .await
                .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn api_key_create(
        rqctx: Ctx,
        body: JsonBody<types::ApiKeyCreate>,
    ) -> Limited<HttpResponseCreated<types::ApiKeyWithSecret>> {
        serve(&rqctx, body, async |call: &Call<'_>, body| {
            credentials::api_key_create(call, body)
                .await
                .map(HttpResponseCreated)
        })
        .await
    }

    async fn api_key_get(
        rqctx: Ctx,
        path: PathParams<types::ApiKeyGetPath>,
    ) -> Limited<HttpResponseOk<types::ApiKey>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            credentials::api_key_get(call, path.key_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn api_key_list(
        rqctx: Ctx,
        query: QueryParams<types::ApiKeyListQuery>,
    ) -> Limited<HttpResponseOk<types::ApiKeyList>> {
        serve(&rqctx, query, async |call: &Call<'_>, query| {
            credentials::api_key_list(call, query)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn api_key_revoke(
        rqctx: Ctx,
        path: PathParams<types::ApiKeyRevokePath>,
    ) -> Limited<HttpResponseDeleted> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            credentials::api_key_revoke(call, path.key_id)
                .await
                .map(|()| HttpResponseDeleted())
        })
        .await
    }

    async fn api_key_rotate(
        rqctx: Ctx,
        path: PathParams<types::ApiKeyRotatePath>,
    ) -> Limited<HttpResponseOk<types::ApiKeyWithSecret>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            credentials::api_key_rotate(call, path.key_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn api_key_update(
        rqctx: Ctx,
        path: PathParams<types::ApiKeyUpdatePath>,
        body: JsonBody<types::ApiKeyUpdate>,
    ) -> Limited<HttpResponseOk<types::ApiKey>> {
        serve(
            &rqctx,
            (path, body),
            async |call: &Call<'_>, (path, body)| {
                credentials::api_key_update(call, path.key_id, body)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn bot_activate(
        rqctx: Ctx,
        path: PathParams<types::BotActivatePath>,
    ) -> Limited<HttpResponseOk<types::Bot>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            bots::bot_activate(call, path.bot_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn bot_create(
        rqctx: Ctx,
        body: JsonBody<types::BotCreate>,
    ) -> Limited<HttpResponseCreated<types::Bot>> {
        serve(&rqctx, WithJson(body), async |call: &Call<'_>, body| {
            bots::bot_create(call, body).await.map(HttpResponseCreated)
        })
        .await
    }

    async fn bot_deactivate(
        rqctx: Ctx,
        path: PathParams<types::BotDeactivatePath>,
    ) -> Limited<HttpResponseOk<types::Bot>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            bots::bot_deactivate(call, path.bot_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn bot_delete(
        rqctx: Ctx,
        path: PathParams<types::BotDeletePath>,
    ) -> Limited<HttpResponseDeleted> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            bots::bot_delete(call, path.bot_id)
                .await
                .map(|()| HttpResponseDeleted())
        })
        .await
    }

    async fn bot_duplicate(
        rqctx: Ctx,
        path: PathParams<types::BotDuplicatePath>,
        body: JsonBody<types::BotDuplicate>,
    ) -> Limited<HttpResponseCreated<types::Bot>> {
        serve(
            &rqctx,
            (path, body),
            async |call: &Call<'_>, (path, body)| {
                bots::bot_duplicate(call, path.bot_id, body)
                    .await
                    .map(HttpResponseCreated)
            },
        )
        .await
    }

    async fn bot_get(
        rqctx: Ctx,
        path: PathParams<types::BotGetPath>,
    ) -> Limited<HttpResponseOk<types::Bot>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            bots::bot_get(call, path.bot_id).await.map(HttpResponseOk)
        })
        .await
    }

    async fn bot_list(
        rqctx: Ctx,
        query: QueryParams<types::BotListQuery>,
    ) -> Limited<HttpResponseOk<types::BotList>> {
        serve(&rqctx, query, async |call: &Call<'_>, query| {
            bots::bot_list(call, query).await.map(HttpResponseOk)
        })
        .await
    }

    async fn bot_update(
        rqctx: Ctx,
        path: PathParams<types::BotUpdatePath>,
        body: JsonBody<types::BotUpdate>,
    ) -> Limited<HttpResponseOk<types::Bot>> {
        serve(
            &rqctx,
            (path, WithJson(body)),
            async |call: &Call<'_>, (path, body)| {
                bots::bot_update(call, path.bot_id, body)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn bot_widget_token_rotate(
        rqctx: Ctx,
        path: PathParams<types::BotWidgetTokenRotatePath>,
    ) -> Limited<HttpResponseOk<types::Bot>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            credentials::bot_widget_token_rotate(call, path.bot_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn canned_response_create(
        rqctx: Ctx,
        path: PathParams<types::CannedResponseCreatePath>,
        body: JsonBody<types::CannedResponseCreate>,
    ) -> Limited<HttpResponseCreated<types::CannedResponse>> {
        serve(
            &rqctx,
            (path, body),
            async |call: &Call<'_>, (path, body)| {
                inbox::canned_response_create(call, path.bot_id, body)
                    .await
                    .map(HttpResponseCreated)
            },
        )
        .await
    }

    async fn canned_response_delete(
        rqctx: Ctx,
        path: PathParams<types::CannedResponseDeletePath>,
    ) -> Limited<HttpResponseDeleted> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            inbox::canned_response_delete(call, path.canned_response_id)
                .await
                .map(|()| HttpResponseDeleted())
        })
        .await
    }

    async fn canned_response_list(
        rqctx: Ctx,
        path: PathParams<types::CannedResponseListPath>,
        query: QueryParams<types::CannedResponseListQuery>,
    ) -> Limited<HttpResponseOk<types::CannedResponseList>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (path, query)| {
                inbox::canned_response_list(call, path.bot_id, query)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn chat_send(
        rqctx: Ctx,
        headers: HeaderParams<types::ChatSendHeaders>,
        body: JsonBody<types::ChatSend>,
    ) -> Limited<HttpResponseOk<types::ChatReply>> {
        serve(
            &rqctx,
            (headers, WithJson(body)),
            async |call: &Call<'_>, (headers, (body, json))| {
                let key = headers.idempotency_key.map(|k| k.to_string());
                chat::chat_send(call, body, &json, key)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn chat_stream(
        rqctx: Ctx,
        headers: HeaderParams<types::ChatStreamHeaders>,
        body: JsonBody<types::ChatSend>,
    ) -> Limited<Raw> {
        serve(
            &rqctx,
            (headers, WithJson(body)),
            async |call: &Call<'_>, (headers, (body, json))| {
                let key = headers.idempotency_key.map(|k| k.to_string());
                match chat::chat_stream(call, body, &json, key).await? {
                    chat::StreamReply::Complete(reply) => super::sse(&reply),
                    chat::StreamReply::Live(events) => super::sse_live(
                        events,
                        call.app.config.sse_ping_interval,
                        &rqctx.request_id,
                    ),
                }
            },
        )
        .await
    }

    async fn contact_create(
        rqctx: Ctx,
        body: JsonBody<types::ContactCreate>,
    ) -> Limited<HttpResponseCreated<types::Contact>> {
        serve(&rqctx, body, async |call: &Call<'_>, body| {
            contacts::contact_create(call, body)
                .await
                .map(HttpResponseCreated)
        })
        .await
    }

    async fn contact_delete(
        rqctx: Ctx,
        path: PathParams<types::ContactDeletePath>,
    ) -> Limited<HttpResponseDeleted> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            contacts::contact_delete(call, path.contact_id)
                .await
                .map(|()| HttpResponseDeleted())
        })
        .await
    }

    async fn contact_get(
        rqctx: Ctx,
        path: PathParams<types::ContactGetPath>,
    ) -> Limited<HttpResponseOk<types::Contact>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            contacts::contact_get(call, path.contact_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn contact_list(
        rqctx: Ctx,
        query: QueryParams<types::ContactListQuery>,
    ) -> Limited<HttpResponseOk<types::ContactList>> {
        serve(&rqctx, query, async |call: &Call<'_>, query| {
            contacts::contact_list(call, query)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn contact_update(
        rqctx: Ctx,
        path: PathParams<types::ContactUpdatePath>,
        body: JsonBody<types::ContactUpdate>,
    ) -> Limited<HttpResponseOk<types::Contact>> {
        serve(
            &rqctx,
            (path, WithJson(body)),
            async |call: &Call<'_>, (path, body)| {
                contacts::contact_update(call, path.contact_id, body)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn conversation_assign(
        rqctx: Ctx,
        path: PathParams<types::ConversationAssignPath>,
        body: JsonBody<types::ConversationAssign>,
    ) -> Limited<HttpResponseOk<types::Conversation>> {
        serve(
            &rqctx,
            (path, body),
            async |call: &Call<'_>, (path, body)| {
                inbox::conversation_assign(call, path.conversation_id, body)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn conversation_escalate(
        rqctx: Ctx,
        path: PathParams<types::ConversationEscalatePath>,
        body: JsonBody<types::ConversationEscalate>,
    ) -> Limited<HttpResponseOk<types::Conversation>> {
        serve(
            &rqctx,
            (path, body),
            async |call: &Call<'_>, (path, body)| {
                let reason = body.reason.map(|r| r.to_string());
                chat::conversation_escalate(call, path.conversation_id, reason)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn conversation_get(
        rqctx: Ctx,
        path: PathParams<types::ConversationGetPath>,
    ) -> Limited<HttpResponseOk<types::ConversationWithMessages>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            chat::conversation_get(call, path.conversation_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn conversation_handback(
        rqctx: Ctx,
        path: PathParams<types::ConversationHandbackPath>,
    ) -> Limited<HttpResponseOk<types::Conversation>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            chat::conversation_handback(call, path.conversation_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn conversation_reply(
        rqctx: Ctx,
        path: PathParams<types::ConversationReplyPath>,
        body: JsonBody<types::ConversationReply>,
    ) -> Limited<HttpResponseCreated<types::Message>> {
        serve(
            &rqctx,
            (path, body),
            async |call: &Call<'_>, (path, body)| {
                inbox::conversation_reply(call, path.conversation_id, body)
                    .await
                    .map(HttpResponseCreated)
            },
        )
        .await
    }

    async fn conversation_status_set(
        rqctx: Ctx,
        path: PathParams<types::ConversationStatusSetPath>,
        body: JsonBody<types::ConversationStatusSet>,
    ) -> Limited<HttpResponseOk<types::Conversation>> {
        serve(
            &rqctx,
            (path, body),
            async |call: &Call<'_>, (path, body)| {
                inbox::conversation_status_set(call, path.conversation_id, body)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn conversation_summary_get(
        rqctx: Ctx,
        path: PathParams<types::ConversationSummaryGetPath>,
    ) -> Limited<HttpResponseOk<types::ConversationSummary>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            inbox::conversation_summary_get(call, path.conversation_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn conversation_tags_set(
        rqctx: Ctx,
        path: PathParams<types::ConversationTagsSetPath>,
        body: JsonBody<types::ConversationTagsSet>,
    ) -> Limited<HttpResponseOk<types::Conversation>> {
        serve(
            &rqctx,
            (path, body),
            async |call: &Call<'_>, (path, body)| {
                inbox::conversation_tags_set(call, path.conversation_id, body)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn delivery_get(
        rqctx: Ctx,
        path: PathParams<types::DeliveryGetPath>,
    ) -> Limited<HttpResponseOk<types::WebhookDelivery>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            webhooks::delivery_get(call, path.webhook_id, path.delivery_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn delivery_list(
        rqctx: Ctx,
        path: PathParams<types::DeliveryListPath>,
        query: QueryParams<types::DeliveryListQuery>,
    ) -> Limited<HttpResponseOk<types::WebhookDeliveryList>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (path, query)| {
                webhooks::delivery_list(call, path.webhook_id, query)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn delivery_redeliver(
        rqctx: Ctx,
        path: PathParams<types::DeliveryRedeliverPath>,
    ) -> Limited<HttpResponseAccepted<types::WebhookDelivery>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            webhooks::delivery_redeliver(call, path.webhook_id, path.delivery_id)
                .await
                .map(HttpResponseAccepted)
        })
        .await
    }

    async fn docs_get(rqctx: Ctx) -> Operational<Raw> {
        let page =
            ops::docs_get().and_then(|html| raw("text/html; charset=utf-8", html.to_string()));
        reply(&rqctx, page)
    }

    async fn document_create(
        rqctx: Ctx,
        path: PathParams<types::DocumentCreatePath>,
        body: ParsedBody<MultipartBody>,
    ) -> Limited<HttpResponseCreated<types::Document>> {
        serve(
            &rqctx,
            (path, body),
            async |call: &Call<'_>, (path, body)| {
                knowledge::document_create(call, path.bot_id, body)
                    .await
                    .map(HttpResponseCreated)
            },
        )
        .await
    }

    async fn document_delete(
        rqctx: Ctx,
        path: PathParams<types::DocumentDeletePath>,
    ) -> Limited<HttpResponseDeleted> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            knowledge::document_delete(call, path.bot_id, path.document_id)
                .await
                .map(|()| HttpResponseDeleted())
        })
        .await
    }

    async fn document_get(
        rqctx: Ctx,
        path: PathParams<types::DocumentGetPath>,
    ) -> Limited<HttpResponseOk<types::Document>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            knowledge::document_get(call, path.bot_id, path.document_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn document_list(
        rqctx: Ctx,
        path: PathParams<types::DocumentListPath>,
        query: QueryParams<types::DocumentListQuery>,
    ) -> Limited<HttpResponseOk<types::DocumentList>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (path, query)| {
                knowledge::document_list(call, path.bot_id, query)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn feedback_create(
        rqctx: Ctx,
        path: PathParams<types::FeedbackCreatePath>,
        body: JsonBody<types::FeedbackCreate>,
    ) -> Limited<HttpResponseCreated<types::Feedback>> {
        serve(
            &rqctx,
            (path, body),
            async |call: &Call<'_>, (path, body)| {
                chat::feedback_create(call, path.conversation_id, body)
                    .await
                    .map(HttpResponseCreated)
            },
        )
        .await
    }

    async fn health_get(rqctx: Ctx) -> Operational<HttpResponseOk<types::Health>> {
        reply(&rqctx, Ok(HttpResponseOk(ops::health_get())))
    }

    async fn inbox_auto_assign(
        rqctx: Ctx,
        path: PathParams<types::InboxAutoAssignPath>,
    ) -> Limited<HttpResponseOk<types::InboxAutoAssignResult>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            inbox::inbox_auto_assign(call, path.bot_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn inbox_conversation_list(
        rqctx: Ctx,
        path: PathParams<types::InboxConversationListPath>,
        query: QueryParams<types::InboxConversationListQuery>,
    ) -> Limited<HttpResponseOk<types::ConversationList>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (path, query)| {
                inbox::inbox_conversation_list(call, path.bot_id, query)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn inbox_stats_get(
        rqctx: Ctx,
        path: PathParams<types::InboxStatsGetPath>,
    ) -> Limited<HttpResponseOk<types::InboxStats>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            inbox::inbox_stats_get(call, path.bot_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn inbox_stream(
        rqctx: Ctx,
        query: QueryParams<types::InboxStreamQuery>,
        headers: HeaderParams<types::InboxStreamHeaders>,
    ) -> Limited<Raw> {
        serve(
            &rqctx,
            (query, headers),
            async |call: &Call<'_>, (query, headers)| {
                let last = headers.last_event_id.map(|id| id.to_string());
                let frames =
                    inbox::streams::inbox_stream(call, query.bot_id, last.as_deref()).await?;
                super::sse_feed(frames, call.app.config.sse_ping_interval)
            },
        )
        .await
    }

    async fn inbox_view_create(
        rqctx: Ctx,
        body: JsonBody<types::InboxViewCreate>,
    ) -> Limited<HttpResponseCreated<types::InboxView>> {
        serve(&rqctx, body, async |call: &Call<'_>, body| {
            inbox::inbox_view_create(call, body)
                .await
                .map(HttpResponseCreated)
        })
        .await
    }

    async fn inbox_view_delete(
        rqctx: Ctx,
        path: PathParams<types::InboxViewDeletePath>,
    ) -> Limited<HttpResponseDeleted> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            inbox::inbox_view_delete(call, path.view_id)
                .await
                .map(|()| HttpResponseDeleted())
        })
        .await
    }

    async fn inbox_view_list(
        rqctx: Ctx,
        query: QueryParams<types::InboxViewListQuery>,
    ) -> Limited<HttpResponseOk<types::InboxViewList>> {
        serve(&rqctx, query, async |call: &Call<'_>, query| {
            inbox::inbox_view_list(call, query)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn metrics_get(rqctx: Ctx) -> Operational<Raw> {
        let body = ops::metrics_get(rqctx.context());
        reply(
            &rqctx,
            raw("text/plain; version=0.0.4; charset=utf-8", body),
        )
    }

    async fn note_create(
        rqctx: Ctx,
        path: PathParams<types::NoteCreatePath>,
        body: JsonBody<types::NoteCreate>,
    ) -> Limited<HttpResponseCreated<types::Note>> {
        serve(
            &rqctx,
            (path, body),
            async |call: &Call<'_>, (path, body)| {
                inbox::note_create(call, path.conversation_id, body)
                    .await
                    .map(HttpResponseCreated)
            },
        )
        .await
    }

    async fn note_list(
        rqctx: Ctx,
        path: PathParams<types::NoteListPath>,
        query: QueryParams<types::NoteListQuery>,
    ) -> Limited<HttpResponseOk<types::NoteList>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (path, query)| {
                inbox::note_list(call, path.conversation_id, query)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn notification_list(
        rqctx: Ctx,
        query: QueryParams<types::NotificationListQuery>,
    ) -> Limited<HttpResponseOk<types::NotificationList>> {
        serve(&rqctx, query, async |call: &Call<'_>, query| {
            notifications::notification_list(call, query)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn notification_mark_all_read(
        rqctx: Ctx,
    ) -> Limited<HttpResponseOk<types::NotificationMarkAllRead>> {
        serve(&rqctx, (), async |call: &Call<'_>, ()| {
            notifications::notification_mark_all_read(call)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn notification_mark_read(
        rqctx: Ctx,
        path: PathParams<types::NotificationMarkReadPath>,
    ) -> Limited<HttpResponseOk<types::Notification>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            notifications::notification_mark_read(call, path.notification_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn notification_preferences_get(
        rqctx: Ctx,
    ) -> Limited<HttpResponseOk<types::NotificationPreferences>> {
        serve(&rqctx, (), async |call: &Call<'_>, ()| {
            notifications::notification_preferences_get(call)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn notification_preferences_update(
        rqctx: Ctx,
        body: JsonBody<types::NotificationPreferencesUpdate>,
    ) -> Limited<HttpResponseOk<types::NotificationPreferences>> {
        serve(&rqctx, body, async |call: &Call<'_>, body| {
            notifications::notification_preferences_update(call, body)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn notification_unread_count_get(
        rqctx: Ctx,
    ) -> Limited<HttpResponseOk<types::NotificationUnreadCount>> {
        serve(&rqctx, (), async |call: &Call<'_>, ()| {
            notifications::notification_unread_count_get(call)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn openapi_get(rqctx: Ctx) -> Operational<Raw> {
        reply(&rqctx, raw("text/yaml", OPENAPI_YAML.to_string()))
    }

    async fn presence_available_list(
        rqctx: Ctx,
        query: QueryParams<types::PresenceAvailableListQuery>,
    ) -> Limited<HttpResponseOk<types::PresenceList>> {
        serve(&rqctx, query, async |call: &Call<'_>, query| {
            presence::presence_available_list(call, query)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn presence_heartbeat(rqctx: Ctx) -> Limited<HttpResponseOk<types::Presence>> {
        serve(&rqctx, (), async |call: &Call<'_>, ()| {
            presence::presence_heartbeat(call).await.map(HttpResponseOk)
        })
        .await
    }

    async fn presence_status_set(
        rqctx: Ctx,
        body: JsonBody<types::PresenceStatusSet>,
    ) -> Limited<HttpResponseOk<types::Presence>> {
        serve(&rqctx, body, async |call: &Call<'_>, body| {
            presence::presence_status_set(call, body)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn presence_team_get(
        rqctx: Ctx,
        query: QueryParams<types::PresenceTeamGetQuery>,
    ) -> Limited<HttpResponseOk<types::PresenceList>> {
        serve(&rqctx, query, async |call: &Call<'_>, query| {
            presence::presence_team_get(call, query)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn readiness_get(rqctx: Ctx) -> Operational<HttpResponseOk<types::Readiness>> {
        let result = ops::readiness_get(rqctx.context())
            .await
            .map(HttpResponseOk);
        reply(&rqctx, result)
    }

    async fn session_contact_link(
        rqctx: Ctx,
        path: PathParams<types::SessionContactLinkPath>,
        body: JsonBody<types::SessionContactLink>,
    ) -> Limited<HttpResponseOk<types::Session>> {
        serve(
            &rqctx,
            (path, body),
            async |call: &Call<'_>, (path, body)| {
                contacts::session_contact_link(call, path.bot_id, &path.session_id, body)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn session_delete(
        rqctx: Ctx,
        path: PathParams<types::SessionDeletePath>,
    ) -> Limited<HttpResponseDeleted> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            chat::session_delete(call, path.bot_id, &path.session_id)
                .await
                .map(|()| HttpResponseDeleted())
        })
        .await
    }

    async fn session_history(
        rqctx: Ctx,
        path: PathParams<types::SessionHistoryPath>,
        query: QueryParams<types::SessionHistoryQuery>,
    ) -> Limited<HttpResponseOk<types::MessageList>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (path, query)| {
                chat::session_history(call, path.bot_id, &path.session_id, query)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn session_list(
        rqctx: Ctx,
        path: PathParams<types::SessionListPath>,
        query: QueryParams<types::SessionListQuery>,
    ) -> Limited<HttpResponseOk<types::SessionList>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (path, query)| {
                chat::session_list(call, path.bot_id, query)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn session_stream(
        rqctx: Ctx,
        path: PathParams<types::SessionStreamPath>,
        headers: HeaderParams<types::SessionStreamHeaders>,
    ) -> Limited<Raw> {
        serve(
            &rqctx,
            (path, headers),
            async |call: &Call<'_>, (path, headers)| {
                let last = headers.last_event_id.map(|id| id.to_string());
                let frames = inbox::streams::session_stream(
                    call,
                    path.bot_id,
                    &path.session_id,
                    last.as_deref(),
                )
                .await?;
                super::sse_feed(frames, call.app.config.sse_ping_interval)
            },
        )
        .await
    }

    async fn team_bot_list(
        rqctx: Ctx,
        path: PathParams<types::TeamBotListPath>,
        query: QueryParams<types::TeamBotListQuery>,
    ) -> Limited<HttpResponseOk<types::TeamBotList>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (_, query)| {
                teams::team_bot_list(call, query).await.map(HttpResponseOk)
            },
        )
        .await
    }

    async fn team_bot_share(
        rqctx: Ctx,
        path: PathParams<types::TeamBotSharePath>,
        body: JsonBody<types::TeamBotShare>,
    ) -> Limited<HttpResponseCreated<types::TeamBot>> {
        serve(&rqctx, (path, body), async |call: &Call<'_>, (_, body)| {
            teams::team_bot_share(call, body)
                .await
                .map(HttpResponseCreated)
        })
        .await
    }

    async fn team_bot_unshare(
        rqctx: Ctx,
        path: PathParams<types::TeamBotUnsharePath>,
    ) -> Limited<HttpResponseDeleted> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            teams::team_bot_unshare(call, path.bot_id)
                .await
                .map(|()| HttpResponseDeleted())
        })
        .await
    }

    async fn team_create(
        rqctx: Ctx,
        body: JsonBody<types::TeamCreate>,
    ) -> Limited<HttpResponseCreated<types::Team>> {
        serve(&rqctx, body, async |call: &Call<'_>, body| {
            teams::team_create(call, body)
                .await
                .map(HttpResponseCreated)
        })
        .await
    }

    async fn team_delete(
        rqctx: Ctx,
        path: PathParams<types::TeamDeletePath>,
    ) -> Limited<HttpResponseDeleted> {
        serve(&rqctx, path, async |call: &Call<'_>, _| {
            teams::team_delete(call)
                .await
                .map(|()| HttpResponseDeleted())
        })
        .await
    }

    async fn team_get(
        rqctx: Ctx,
        path: PathParams<types::TeamGetPath>,
    ) -> Limited<HttpResponseOk<types::Team>> {
        serve(&rqctx, path, async |call: &Call<'_>, _| {
            teams::team_get(call).await.map(HttpResponseOk)
        })
        .await
    }

    async fn team_update(
        rqctx: Ctx,
        path: PathParams<types::TeamUpdatePath>,
        body: JsonBody<types::TeamUpdate>,
    ) -> Limited<HttpResponseOk<types::Team>> {
        serve(
            &rqctx,
            (path, WithJson(body)),
            async |call: &Call<'_>, (_, body)| {
                teams::team_update(call, body).await.map(HttpResponseOk)
            },
        )
        .await
    }

    async fn team_invite_accept(
        rqctx: Ctx,
        body: JsonBody<types::TeamInviteAccept>,
    ) -> Limited<HttpResponseOk<types::TeamMember>> {
        serve(&rqctx, body, async |call: &Call<'_>, body| {
            teams::team_invite_accept(call, body)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn team_invite_create(
        rqctx: Ctx,
        path: PathParams<types::TeamInviteCreatePath>,
        body: JsonBody<types::TeamInviteCreate>,
    ) -> Limited<HttpResponseCreated<types::TeamInvite>> {
        serve(&rqctx, (path, body), async |call: &Call<'_>, (_, body)| {
            teams::team_invite_create(call, body)
                .await
                .map(HttpResponseCreated)
        })
        .await
    }

    async fn team_invite_list(
        rqctx: Ctx,
        path: PathParams<types::TeamInviteListPath>,
        query: QueryParams<types::TeamInviteListQuery>,
    ) -> Limited<HttpResponseOk<types::PendingTeamInviteList>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (_, query)| {
                teams::team_invite_list(call, query)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn team_invite_resend(
        rqctx: Ctx,
        path: PathParams<types::TeamInviteResendPath>,
    ) -> Limited<HttpResponseOk<types::TeamInvite>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            teams::team_invite_resend(call, path.invite_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn team_invite_revoke(
        rqctx: Ctx,
        path: PathParams<types::TeamInviteRevokePath>,
    ) -> Limited<HttpResponseDeleted> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            teams::team_invite_revoke(call, path.invite_id)
                .await
                .map(|()| HttpResponseDeleted())
        })
        .await
    }

    async fn team_list(
        rqctx: Ctx,
        query: QueryParams<types::TeamListQuery>,
    ) -> Limited<HttpResponseOk<types::TeamList>> {
        serve(&rqctx, query, async |call: &Call<'_>, query| {
            teams::team_list(call, query).await.map(HttpResponseOk)
        })
        .await
    }

    async fn team_member_list(
        rqctx: Ctx,
        path: PathParams<types::TeamMemberListPath>,
        query: QueryParams<types::TeamMemberListQuery>,
    ) -> Limited<HttpResponseOk<types::TeamMemberList>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (_, query)| {
                teams::team_member_list(call, query)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn team_member_remove(
        rqctx: Ctx,
        path: PathParams<types::TeamMemberRemovePath>,
    ) -> Limited<HttpResponseDeleted> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            teams::team_member_remove(call, path.user_id)
                .await
                .map(|()| HttpResponseDeleted())
        })
        .await
    }

    async fn team_member_update(
        rqctx: Ctx,
        path: PathParams<types::TeamMemberUpdatePath>,
        body: JsonBody<types::TeamMemberUpdate>,
    ) -> Limited<HttpResponseOk<types::TeamMember>> {
        serve(
            &rqctx,
            (path, WithJson(body)),
            async |call: &Call<'_>, (path, body)| {
                teams::team_member_update(call, path.user_id, body)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn team_member_presence_set(
        rqctx: Ctx,
        path: PathParams<types::TeamMemberPresenceSetPath>,
        body: JsonBody<types::PresenceStatusSet>,
    ) -> Limited<HttpResponseOk<types::TeamPresence>> {
        serve(
            &rqctx,
            (path, body),
            async |call: &Call<'_>, (path, body)| {
                presence::team_member_presence_set(call, path.user_id, body)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn webhook_create(
        rqctx: Ctx,
        path: PathParams<types::WebhookCreatePath>,
        body: JsonBody<types::WebhookCreate>,
    ) -> Limited<HttpResponseCreated<types::WebhookWithSecret>> {
        serve(
            &rqctx,
            (path, body),
            async |call: &Call<'_>, (path, body)| {
                webhooks::webhook_create(call, path.bot_id, body)
                    .await
                    .map(HttpResponseCreated)
            },
        )
        .await
    }

    async fn webhook_delete(
        rqctx: Ctx,
        path: PathParams<types::WebhookDeletePath>,
    ) -> Limited<HttpResponseDeleted> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            webhooks::webhook_delete(call, path.webhook_id)
                .await
                .map(|()| HttpResponseDeleted())
        })
        .await
    }

    async fn webhook_get(
        rqctx: Ctx,
        path: PathParams<types::WebhookGetPath>,
    ) -> Limited<HttpResponseOk<types::Webhook>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            webhooks::webhook_get(call, path.webhook_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn webhook_list(
        rqctx: Ctx,
        path: PathParams<types::WebhookListPath>,
        query: QueryParams<types::WebhookListQuery>,
    ) -> Limited<HttpResponseOk<types::WebhookList>> {
        serve(
            &rqctx,
            (path, query),
            async |call: &Call<'_>, (path, query)| {
                webhooks::webhook_list(call, path.bot_id, query)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }

    async fn webhook_secret_rotate(
        rqctx: Ctx,
        path: PathParams<types::WebhookSecretRotatePath>,
    ) -> Limited<HttpResponseOk<types::WebhookWithSecret>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            webhooks::webhook_secret_rotate(call, path.webhook_id)
                .await
                .map(HttpResponseOk)
        })
        .await
    }

    async fn webhook_test(
        rqctx: Ctx,
        path: PathParams<types::WebhookTestPath>,
    ) -> Limited<HttpResponseAccepted<types::WebhookDelivery>> {
        serve(&rqctx, path, async |call: &Call<'_>, path| {
            webhooks::webhook_test(call, path.webhook_id)
                .await
                .map(HttpResponseAccepted)
        })
        .await
    }

    async fn webhook_update(
        rqctx: Ctx,
        path: PathParams<types::WebhookUpdatePath>,
        body: JsonBody<types::WebhookUpdate>,
    ) -> Limited<HttpResponseOk<types::Webhook>> {
        serve(
            &rqctx,
            (path, WithJson(body)),
            async |call: &Call<'_>, (path, body)| {
                webhooks::webhook_update(call, path.webhook_id, body)
                    .await
                    .map(HttpResponseOk)
            },
        )
        .await
    }
}
