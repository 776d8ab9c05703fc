-- Seed 000's workspace: categories, prompt templates and model preferences.
CREATE TABLE categories (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    color TEXT,
    description TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (user_id, name)
);

CREATE TABLE prompts (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    category_id BIGINT REFERENCES categories(id) ON DELETE SET NULL,
    title TEXT NOT NULL,
    content TEXT NOT NULL,
    description TEXT,
    is_favorite BOOLEAN NOT NULL DEFAULT FALSE,
    usage_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX prompts_user_updated_idx ON prompts(user_id, updated_at);

CREATE TABLE model_preferences (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider_kind TEXT NOT NULL,
    model TEXT NOT NULL,
    max_tokens BIGINT,
    temperature DOUBLE PRECISION,
    system_prompt TEXT,
    is_default BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- At most one default per provider kind per user.
CREATE UNIQUE INDEX model_preferences_one_default_idx
    ON model_preferences(user_id, provider_kind) WHERE is_default;

ALTER TABLE conversations ADD COLUMN category_id BIGINT REFERENCES categories(id) ON DELETE SET NULL;
