//! The diesel schema, written once for both backends (the SQL lives in `migrations/`).
//! A test checks that both migration trees produce exactly these tables and columns.

#![allow(missing_docs)]

diesel::table! {
    users (id) {
        id -> BigInt,
        username -> Text,
        email -> Text,
        full_name -> Nullable<Text>,
        password_hash -> Text,
        role -> Text,
        is_active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        user_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        session_id -> BigInt,
        token_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    providers (id) {
        id -> BigInt,
        owner_id -> BigInt,
        name -> Text,
        slug -> Text,
        kind -> Text,
        scope -> Text,
        api_key_ciphertext -> Nullable<Text>,
        api_key_hint -> Nullable<Text>,
        base_url -> Nullable<Text>,
        config -> Text,
        is_active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    provider_grants (id) {
        id -> BigInt,
        provider_id -> BigInt,
        user_id -> BigInt,
        granted_by -> BigInt,
        is_active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    conversations (id) {
        id -> BigInt,
        user_id -> BigInt,
        title -> Text,
        provider_id -> Nullable<BigInt>,
        model -> Nullable<Text>,
        system_prompt -> Nullable<Text>,
        max_tokens -> Nullable<BigInt>,
        temperature -> Nullable<Double>,
        is_pinned -> Bool,
        is_archived -> Bool,
        metadata -> Text,
        message_count -> BigInt,
        last_message_at -> Nullable<Timestamp>,
        category_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        conversation_id -> BigInt,
        role -> Text,
        content -> Text,
        status -> Text,
        model -> Nullable<Text>,
        provider_id -> Nullable<BigInt>,
        provider_kind -> Nullable<Text>,
        prompt_tokens -> Nullable<BigInt>,
        completion_tokens -> Nullable<BigInt>,
        cost_nanos -> Nullable<BigInt>,
        finish_reason -> Nullable<Text>,
        response_time_ms -> Nullable<BigInt>,
        metadata -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    usage_records (id) {
        id -> BigInt,
        request_id -> Text,
        user_id -> BigInt,
        api_key_id -> Nullable<BigInt>,
        provider_id -> Nullable<BigInt>,
        provider_kind -> Text,
        conversation_id -> Nullable<BigInt>,
        message_id -> Nullable<BigInt>,
        model -> Text,
        prompt_tokens -> BigInt,
        completion_tokens -> BigInt,
        total_tokens -> BigInt,
        estimated -> Bool,
        cost_nanos -> BigInt,
        currency -> Text,
        price_known -> Bool,
        status -> Text,
        latency_ms -> BigInt,
        ttft_ms -> Nullable<BigInt>,
        created_at -> Timestamp,
        generation_id -> Nullable<Text>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        key_hash -> Text,
        prefix -> Text,
        permissions -> Text,
        requests_per_minute -> Nullable<BigInt>,
        tokens_per_minute -> Nullable<BigInt>,
        usage_limit_tokens -> Nullable<BigInt>,
        is_active -> Bool,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    categories (id) {
        id -> BigInt,
        user_id -> BigInt,
        name -> Text,
        color -> Nullable<Text>,
        description -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    prompts (id) {
        id -> BigInt,
        user_id -> BigInt,
        category_id -> Nullable<BigInt>,
        title -> Text,
        content -> Text,
        description -> Nullable<Text>,
        is_favorite -> Bool,
        usage_count -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    model_preferences (id) {
        id -> BigInt,
        user_id -> BigInt,
        provider_kind -> Text,
        model -> Text,
        max_tokens -> Nullable<BigInt>,
        temperature -> Nullable<Double>,
        system_prompt -> Nullable<Text>,
        is_default -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(prompts -> categories (category_id));
diesel::joinable!(api_keys -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(providers -> users (owner_id));
diesel::joinable!(provider_grants -> providers (provider_id));
diesel::joinable!(conversations -> users (user_id));
diesel::joinable!(messages -> conversations (conversation_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    sessions,
    refresh_tokens,
    providers,
    provider_grants,
    conversations,
    messages,
    usage_records,
    api_keys,
    categories,
    prompts,
    model_preferences,
);
