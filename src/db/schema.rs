//! One schema for both backends, limited to the SQL types diesel's
//! `MultiConnection` shares (BigInt ids, Integer, Bool, Text, Date, UTC `Timestamp`).
//! PostgreSQL's `articles.search` tsvector column is left out on purpose: only
//! the backend-specific search SQL in `db::articles` reads it.

diesel::table! {
    editors (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        slug -> Text,
        bio -> Nullable<Text>,
        role -> Text,
        active -> Bool,
        password_hash -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        avatar_url -> Nullable<Text>,
        website -> Nullable<Text>,
        twitter -> Nullable<Text>,
        bluesky -> Nullable<Text>,
        mastodon -> Nullable<Text>,
    }
}

diesel::table! {
    login_failures (email_hash) {
        email_hash -> Text,
        failures -> Integer,
        last_failed_at -> Timestamp,
        locked_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> BigInt,
        editor_id -> BigInt,
        family -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    password_resets (id) {
        id -> BigInt,
        editor_id -> BigInt,
        token_hash -> Text,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    preview_links (id) {
        id -> BigInt,
        article_id -> BigInt,
        token_hash -> Text,
        created_by -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    articles (id) {
        id -> BigInt,
        slug -> Text,
        title -> Text,
        subtitle -> Nullable<Text>,
        excerpt -> Text,
        excerpt_custom -> Bool,
        body_markdown -> Text,
        body_html -> Text,
        status -> Text,
        author_id -> BigInt,
        featured_image_url -> Nullable<Text>,
        word_count -> Integer,
        reading_time_minutes -> Integer,
        comments_enabled -> Bool,
        comment_count -> BigInt,
        share_count -> BigInt,
        published_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        featured -> Bool,
        featured_image_meta -> Nullable<Text>,
        seo -> Text,
        pull_quotes -> Text,
        body_text -> Nullable<Text>,
        announced_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    tags (id) {
        id -> BigInt,
        slug -> Text,
        name -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    article_tags (article_id, tag_id) {
        article_id -> BigInt,
        tag_id -> BigInt,
        position -> Integer,
        published_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    /// What an article embeds, as the JSON the API shows, kept by
    /// triggers (migration 000034): the author (`AuthorRef`, null if
    /// missing) and the tags (`[TagRef]`, in the article's order).
    article_embeds (article_id) {
        article_id -> BigInt,
        author -> Nullable<Text>,
        tags -> Text,
    }
}

diesel::table! {
    comments (id) {
        id -> BigInt,
        article_id -> BigInt,
        parent_id -> Nullable<BigInt>,
        depth -> Integer,
        author_name -> Text,
        author_email -> Text,
        author_url -> Nullable<Text>,
        body -> Text,
        body_html -> Text,
        status -> Text,
        removed -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    share_events (id) {
        id -> BigInt,
        article_id -> BigInt,
        channel -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    share_counts (article_id, channel) {
        article_id -> BigInt,
        channel -> Text,
        count -> BigInt,
    }
}

diesel::table! {
    share_daily (article_id, day, channel) {
        day -> Date,
        article_id -> BigInt,
        channel -> Text,
        count -> BigInt,
    }
}

diesel::table! {
    share_daily_totals (day, channel) {
        day -> Date,
        channel -> Text,
        count -> BigInt,
    }
}

diesel::joinable!(refresh_tokens -> editors (editor_id));
diesel::joinable!(password_resets -> editors (editor_id));
diesel::joinable!(articles -> editors (author_id));
diesel::joinable!(article_tags -> articles (article_id));
diesel::joinable!(article_tags -> tags (tag_id));
diesel::joinable!(comments -> articles (article_id));
diesel::joinable!(share_events -> articles (article_id));
diesel::joinable!(share_counts -> articles (article_id));
diesel::joinable!(share_daily -> articles (article_id));
diesel::joinable!(preview_links -> articles (article_id));
diesel::joinable!(preview_links -> editors (created_by));

diesel::table! {
    author_article_counts (author_id) {
        author_id -> BigInt,
        count -> BigInt,
    }
}

diesel::table! {
    article_status_counts (status) {
        status -> Text,
        count -> BigInt,
    }
}

diesel::table! {
    changes (id) {
        id -> BigInt,
        tx -> BigInt,
        origin -> BigInt,
        entity -> Text,
        entity_id -> BigInt,
        action -> Text,
        keys -> Text,
        changed_at -> Timestamp,
        public -> Bool,
        slug -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (id) {
        id -> BigInt,
        client -> Text,
        key -> Text,
        request_hash -> Text,
        claim -> Text,
        status -> Nullable<Integer>,
        headers -> Text,
        body -> Text,
        locked_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        editor_id -> BigInt,
        name -> Text,
        token_hash -> Text,
        prefix -> Text,
        scopes -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> BigInt,
        url -> Text,
        events -> Text,
        description -> Nullable<Text>,
        active -> Bool,
        secret -> Text,
        active_since -> Timestamp,
        disabled_reason -> Nullable<Text>,
        disabled_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        endpoint_id -> BigInt,
        message_id -> Text,
        event -> Text,
        payload -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> BigInt,
        delivery_id -> BigInt,
        attempted_at -> Timestamp,
        status_code -> Nullable<Integer>,
        duration_ms -> BigInt,
        error -> Nullable<Text>,
        response_body -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_dispatch (id) {
        id -> Integer,
        tx -> BigInt,
        change_id -> BigInt,
    }
}

diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(api_tokens -> editors (editor_id));
diesel::joinable!(author_article_counts -> editors (author_id));

diesel::table! {
    changes_floor (id) {
        id -> Integer,
        tx -> BigInt,
        change_id -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    editors,
    api_tokens,
    webhook_endpoints,
    webhook_deliveries,
    webhook_attempts,
    refresh_tokens,
    password_resets,
    articles,
    tags,
    article_tags,
    article_embeds,
    comments,
    share_events,
    share_counts,
    share_daily,
    share_daily_totals,
    changes,
    preview_links,
    author_article_counts,
);
