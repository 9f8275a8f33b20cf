//! The diesel schema, one for both backends (ids are text UUIDs, times UTC timestamps).
//! Keep it equal to what `migrations/*` create: a conformance test compares both databases'
//! schemas after migrating.

diesel::table! {
    server_settings (key) {
        key -> Text,
        value -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    accounts (id) {
        id -> Text,
        monthly_message_quota -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        account_id -> Text,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        email_verified_at -> Nullable<Timestamp>,
        totp_secret -> Nullable<Text>,
        totp_enabled_at -> Nullable<Timestamp>,
        totp_last_step -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    one_time_codes (id) {
        id -> Text,
        user_id -> Text,
        purpose -> Text,
        code_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    bots (id) {
        id -> Text,
        account_id -> Text,
        name -> Text,
        description -> Nullable<Text>,
        status -> Text,
        settings -> Text,
        widget_token -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        knowledge_revision -> BigInt,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        account_id -> Text,
        bot_id -> Nullable<Text>,
        name -> Text,
        key_prefix -> Text,
        secret_hash -> Text,
        rate_limit_standard -> Nullable<BigInt>,
        rate_limit_chat -> Nullable<BigInt>,
        rate_limit_auth -> Nullable<BigInt>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    rate_limits (key) {
        key -> Text,
        tat_ms -> BigInt,
        admitted -> BigInt,
    }
}

diesel::table! {
    usage_counters (account_id, month) {
        account_id -> Text,
        month -> Text,
        messages -> BigInt,
        warned_at -> Nullable<Timestamp>,
        exhausted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        account_id -> Text,
        bot_id -> Nullable<Text>,
        event_type -> Text,
        payload -> Text,
        created_at -> Timestamp,
        fanned_out_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    documents (id) {
        id -> Text,
        bot_id -> Text,
        title -> Text,
        category -> Nullable<Text>,
        kind -> Text,
        filename -> Text,
        size_bytes -> BigInt,
        chunk_count -> BigInt,
        faq_count -> BigInt,
        created_at -> Timestamp,
    }
}

diesel::table! {
    knowledge_entries (id) {
        id -> Text,
        bot_id -> Text,
        document_id -> Text,
        position -> BigInt,
        question -> Nullable<Text>,
        content -> Text,
    }
}

diesel::table! {
    conversations (id) {
        id -> Text,
        bot_id -> Text,
        session_id -> Text,
        user_id -> Nullable<Text>,
        contact_id -> Nullable<Text>,
        by_visitor -> Bool,
        status -> Text,
        handed_off -> Bool,
        assignee_id -> Nullable<Text>,
        tags -> Text,
        message_count -> BigInt,
        last_message_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        queued_at -> Nullable<Timestamp>,
        awaiting_agent_since -> Nullable<Timestamp>,
    }
}

diesel::table! {
    messages (id) {
        id -> Text,
        conversation_id -> Text,
        role -> Text,
        content -> Text,
        language -> Nullable<Text>,
        sources -> Text,
        suggested_actions -> Text,
        engine -> Nullable<Text>,
        agent_id -> Nullable<Text>,
        created_at -> Timestamp,
        answered -> Nullable<Bool>,
    }
}

diesel::table! {
    feedback (id) {
        id -> Text,
        conversation_id -> Text,
        message_id -> Nullable<Text>,
        rating -> Nullable<Text>,
        csat -> Nullable<BigInt>,
        comment -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    idempotency_keys (key) {
        key -> Text,
        request_hash -> Text,
        response -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Text,
        account_id -> Text,
        bot_id -> Text,
        url -> Text,
        events -> Text,
        enabled -> Bool,
        description -> Nullable<Text>,
        disabled_reason -> Nullable<Text>,
        consecutive_failures -> BigInt,
        secret -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        webhook_id -> Text,
        event_id -> Nullable<Text>,
        event_type -> Text,
        payload -> Text,
        status -> Text,
        attempt_count -> BigInt,
        attempts_left -> BigInt,
        next_attempt_at -> Nullable<Timestamp>,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Text,
        delivery_id -> Text,
        attempt -> BigInt,
        attempted_at -> Timestamp,
        status_code -> Nullable<BigInt>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
        response_snippet -> Nullable<Text>,
        replica -> Text,
    }
}

diesel::table! {
    contacts (id) {
        id -> Text,
        account_id -> Text,
        name -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        external_id -> Nullable<Text>,
        tags -> Text,
        attributes -> Text,
        search -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    teams (id) {
        id -> Text,
        name -> Text,
        created_at -> Timestamp,
        agent_capacity -> Nullable<BigInt>,
    }
}

diesel::table! {
    team_members (team_id, user_id) {
        team_id -> Text,
        user_id -> Text,
        role -> Text,
        joined_at -> Timestamp,
        agent_capacity -> Nullable<BigInt>,
    }
}

diesel::table! {
    team_invites (id) {
        id -> Text,
        team_id -> Text,
        email -> Text,
        role -> Text,
        token_hash -> Text,
        invited_by -> Nullable<Text>,
        expires_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    team_bots (team_id, bot_id) {
        team_id -> Text,
        bot_id -> Text,
        shared_at -> Timestamp,
    }
}

diesel::table! {
    presence (user_id) {
        user_id -> Text,
        status -> Text,
        last_seen_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    notifications (id) {
        id -> Text,
        user_id -> Text,
        kind -> Text,
        title -> Text,
        body -> Text,
        data -> Text,
        in_app -> Bool,
        email_state -> Nullable<Text>,
        read_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    notification_preferences (user_id) {
        user_id -> Text,
        email -> Bool,
        in_app -> Bool,
        types -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    handoffs (id) {
        id -> Text,
        conversation_id -> Text,
        bot_id -> Text,
        requested_at -> Timestamp,
        first_response_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    notes (id) {
        id -> Text,
        conversation_id -> Text,
        author_id -> Text,
        content -> Text,
        mentions -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    canned_responses (id) {
        id -> Text,
        bot_id -> Text,
        shortcut -> Text,
        title -> Text,
        content -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    inbox_views (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        bot_id -> Nullable<Text>,
        filters -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    conversation_summaries (conversation_id) {
        conversation_id -> Text,
        message_count -> BigInt,
        engine -> Text,
        summary -> Text,
        generated_at -> Timestamp,
    }
}

diesel::table! {
    agent_assignments (bot_id, user_id) {
        bot_id -> Text,
        user_id -> Text,
        last_assigned_at -> Timestamp,
    }
}

diesel::table! {
    live_events (seq) {
        seq -> BigInt,
        bot_id -> Text,
        conversation_id -> Text,
        visitor -> Bool,
        agents -> Bool,
        user_id -> Nullable<Text>,
        event -> Text,
        data -> Text,
        created_at -> Timestamp,
    }
}

diesel::joinable!(users -> accounts (account_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(documents -> bots (bot_id));
diesel::joinable!(knowledge_entries -> documents (document_id));
diesel::joinable!(messages -> conversations (conversation_id));
diesel::joinable!(feedback -> conversations (conversation_id));
diesel::joinable!(conversations -> bots (bot_id));
diesel::joinable!(one_time_codes -> users (user_id));
diesel::joinable!(bots -> accounts (account_id));
diesel::joinable!(api_keys -> accounts (account_id));
diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(team_members -> users (user_id));
diesel::joinable!(team_invites -> teams (team_id));
diesel::joinable!(team_bots -> teams (team_id));
diesel::joinable!(team_bots -> bots (bot_id));
diesel::joinable!(presence -> users (user_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(notification_preferences -> users (user_id));
diesel::joinable!(handoffs -> conversations (conversation_id));
diesel::joinable!(notes -> conversations (conversation_id));
diesel::joinable!(canned_responses -> bots (bot_id));
diesel::joinable!(inbox_views -> users (user_id));
diesel::joinable!(conversation_summaries -> conversations (conversation_id));
diesel::joinable!(agent_assignments -> bots (bot_id));

diesel::allow_tables_to_appear_in_same_query!(
    server_settings,
    accounts,
    users,
    one_time_codes,
    bots,
    api_keys,
    rate_limits,
    usage_counters,
    events,
    documents,
    knowledge_entries,
    conversations,
    messages,
    feedback,
    idempotency_keys,
    webhooks,
    webhook_deliveries,
    webhook_attempts,
    teams,
    team_members,
    team_invites,
    team_bots,
    contacts,
    presence,
    notifications,
    notification_preferences,
    handoffs,
    notes,
    canned_responses,
    inbox_views,
    conversation_summaries,
    agent_assignments,
    live_events,
);
