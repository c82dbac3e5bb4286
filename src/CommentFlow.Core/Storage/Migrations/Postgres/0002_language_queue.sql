-- Imported history carries the ticket's language and queue: training and evaluation group and filter on them.
ALTER TABLE samples ADD COLUMN language text;
ALTER TABLE samples ADD COLUMN queue text;
CREATE INDEX ix_samples_language ON samples (language);
