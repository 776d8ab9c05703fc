-- Each usage record carries the id of the generation it bills, minted by the generation
-- engine; it is the record's idempotency key (a retried batch never doubles a row). The HTTP
-- request id stays for correlation. Rows written before this column existed keep NULL.
ALTER TABLE usage_records ADD COLUMN generation_id TEXT;
CREATE UNIQUE INDEX usage_records_generation_id_idx ON usage_records(generation_id);
