"""schemathesis hooks of `cargo xtask fuzz` (xtask/src/fuzz.rs).

A schema-valid request may be refused with 422 only for a reason the contract states that no
schema can express. `schemathesis.toml` lets 422 pass schemathesis' own
`positive_data_acceptance`; this check then holds every such 422 to the fields below, each
group citing where the contract says so. Any other 422 to a schema-valid request fails.
"""

import schemathesis

CURSOR = {"cursor"}  # components.parameters.Cursor: "A cursor this server did not issue answers 422"
# The operations' descriptions: "A wrong, used or expired code answers 422 on `code`".
CODE = {"code"}
# BotEngineSettingsUpdate.llm_base_url: "It must reach only public addresses unless the operator
# allows others ..., checked when it is set"; bot_create and bot_update: "`engine.kind: llm`
# without an LLM base URL and model ... answers 422 on `settings.engine`".
LLM_ENGINE = {"settings.engine", "settings.engine.llm_base_url"}
# webhook_create, "Targets": "The URL must resolve to public addresses ...; a host that does not
# resolve is refused too".
WEBHOOK_TARGET = {"url"}
# ChatSend.bot_id: "otherwise required (422 without it)"; ChatSend.session_id: "Required for
# owner credentials"; ChatSend.message: "Longer than the bot's `message_max_length` (default
# 2000) is 422".
CHAT = {"bot_id", "session_id", "message"}

# ConversationReply: "exactly one of `content` and `canned_response_id` (neither or both
# answers 422)"; CannedResponseCreate.content: "any other placeholder answers 422 on `content`".
REPLY_OR_CANNED = {"content"}
# conversation_tags_set: "a tag that is blank once trimmed answers 422" (on `tags[i]`).
TAGS = "tags["

# components.parameters.AnalyticsFrom: "`from` must be before `to` and the range at most 366
# days long, else 422 on `from`"; analytics_conversations_get (and analytics_messages_get, by
# reference): "422 ... on `interval` when it would give more than 1000 buckets, on `timezone` for
# an unknown zone".
ANALYTICS_RANGE = {"from"}
ANALYTICS_SERIES = {"from", "interval", "timezone"}

DOCUMENTED_REFUSALS = {
    "analytics_overview_get": ANALYTICS_RANGE,
    "analytics_csat_get": ANALYTICS_RANGE,
    "analytics_topics_get": ANALYTICS_RANGE,
    "analytics_gaps_get": ANALYTICS_RANGE,
    "analytics_conversations_get": ANALYTICS_SERIES,
    "analytics_messages_get": ANALYTICS_SERIES,
    "account_email_verify": CODE,
    "account_password_reset": CODE,
    "account_totp_verify": CODE,
    "bot_create": LLM_ENGINE,
    "bot_update": LLM_ENGINE,
    "webhook_create": WEBHOOK_TARGET,
    "webhook_update": WEBHOOK_TARGET,
    # document_create: "An unsupported, empty or corrupt file answers 422".
    "document_create": {"file"},
    "chat_send": CHAT,
    "chat_stream": CHAT,
    # feedback_create: "one that is not an assistant message answers 422" (agents' replies and
    # handoff notes are in the conversations the fuzzer reaches).
    "feedback_create": {"message_id"},
    "conversation_reply": REPLY_OR_CANNED,
    "canned_response_create": REPLY_OR_CANNED,
    # ConversationAssign.assignee_id: "A user who can see the bot ... (422 otherwise)".
    "conversation_assign": {"assignee_id"},
    # inbox_conversation_list: "422 for a view bound to another bot".
    "inbox_conversation_list": {"view_id"},
    # inbox_view_create: the view's tag is normalised as tags are (blank once trimmed: 422).
    "inbox_view_create": {"filters.tag"},
}

# Operations whose refusals name an item of an array, by prefix.
DOCUMENTED_PREFIXES = {"conversation_tags_set": TAGS}


def cursor_refusals(operation):
    """CURSOR for every list that takes the shared Cursor parameter (a new list cannot escape)."""
    for parameter in operation.get("parameters", []):
        if parameter.get("$ref") == "#/components/parameters/Cursor" or (
            parameter.get("in") == "query" and parameter.get("name") == "cursor"
        ):
            return CURSOR
    return set()


@schemathesis.hook
def filter_case(ctx, case):
    """A multipart part's name travels in its Content-Disposition header (RFC 7578, 4.2), where a
    control character or a quote cannot stand: such a generated name is no request a client can
    send, so the case is dropped rather than held against the server's multipart parser."""
    if case.media_type != "multipart/form-data" or not isinstance(case.body, dict):
        return True
    return all(
        isinstance(name, str) and '"' not in name and all(ord(c) >= 0x20 and ord(c) != 0x7F for c in name)
        for name in case.body
    )


@schemathesis.check
def refused_only_as_documented(ctx, response, case):
    meta = case.meta
    if response.status_code != 422 or meta is None or not meta.generation.mode.is_positive:
        return None
    operation = case.operation.definition.raw
    operation_id = operation.get("operationId")
    allowed = DOCUMENTED_REFUSALS.get(operation_id, set()) | cursor_refusals(operation)
    try:
        fields = {field["field"] for field in response.json()["error"].get("fields", [])}
    except (ValueError, KeyError, TypeError):
        fields = set()
    prefix = DOCUMENTED_PREFIXES.get(operation_id)
    if prefix and fields:
        fields = {field for field in fields if not field.startswith(prefix)}
        if not fields:
            return None
    undocumented = sorted(fields - allowed) if fields else ["(no field named)"]
    if undocumented:
        raise AssertionError(
            f"{operation_id}: a schema-valid request was refused with 422 on {undocumented}, "
            f"a reason the contract does not state (documented here: {sorted(allowed) or 'none'})"
        )
    return None
