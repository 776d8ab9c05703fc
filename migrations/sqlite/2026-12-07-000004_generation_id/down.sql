DROP INDEX usage_records_generation_id_idx;
ALTER TABLE usage_records DROP COLUMN generation_id;
