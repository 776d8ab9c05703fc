ALTER TABLE conversations DROP COLUMN category_id;
DROP TABLE model_preferences;
DROP TABLE prompts;
DROP TABLE categories;
