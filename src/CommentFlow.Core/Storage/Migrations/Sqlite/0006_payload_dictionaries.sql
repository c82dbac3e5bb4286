-- zstd dictionaries trained on the store's own payloads (see DbTrainingStore.Dictionaries.cs). A payload of encoding 2
-- names its dictionary's id in its zstd frame header; a dictionary is never deleted while the store lives, so every
-- payload keeps reading. held_out_ratio is compressed / plain bytes on the payloads held out of its training, the
-- yardstick newer payloads are compared with to decide that the data has drifted.
CREATE TABLE payload_dictionaries (
    id             INTEGER PRIMARY KEY,
    created_at     TEXT    NOT NULL,
    trained_on     INTEGER NOT NULL,
    held_out_ratio REAL    NOT NULL,
    content        BLOB    NOT NULL
);
