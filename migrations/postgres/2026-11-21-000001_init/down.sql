DROP TABLE usage_records;
DROP TABLE messages;
DROP TABLE conversations;
DROP TABLE provider_grants;
DROP TABLE providers;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
