-- depends: 0001_ledger
--
-- Inputs that could not become ledger entries (`state.intake.DeadLetter`): why, and what they
-- were (the first 64 KiB of the payload, with its full size).
--
-- Unique on (origin, code). `origin` names the record at its source (topic/partition/offset), so
-- a redelivered bad record, which gets the same verdict, is stored once. `origin` alone would
-- also drop a second, different verdict on the same record: after a catalog change or a new
-- limit, a replay can find that a record once refused as `unresolved_sku` is now
-- `invalid_event`, and the audit should show both. Sources without offsets must make `origin`
-- name one record (a file and a line, a request id), or distinct records would collapse here.
-- The first delivery's `received_at` and `reason` are the ones kept.

CREATE TABLE dead_letter (
    id           bigserial   PRIMARY KEY,
    origin       text        NOT NULL,
    received_at  timestamptz NOT NULL,
    code         text        NOT NULL,
    reason       text        NOT NULL,
    payload      bytea       NOT NULL,
    payload_size bigint      NOT NULL,
    event_id     text,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dead_letter_once_per_verdict UNIQUE (origin, code),
    CONSTRAINT dead_letter_payload_fits CHECK (octet_length(payload) <= payload_size)
);

CREATE INDEX dead_letter_code_time ON dead_letter (code, received_at);
