-- Webhooks: endpoints, the outbox of deliveries, each attempt, and the
-- dispatcher's position in the change log (docs/ARCHITECTURE.md,
-- "Webhooks").
--
-- The signing secret is stored as given to the receiver (`whsec_…`): the
-- server must sign with it, so a hash would not do; the database is the
-- trust boundary (see docs/API.md, "Webhooks").
CREATE TABLE webhook_endpoints (
    id              INTEGER   PRIMARY KEY AUTOINCREMENT,
    url             TEXT      NOT NULL,
    events          TEXT      NOT NULL,
    description     TEXT,
    active          BOOLEAN   NOT NULL,
    secret          TEXT      NOT NULL,
    -- Changes committed before this are not sent (creation, reactivation).
    active_since    TIMESTAMP NOT NULL,
    disabled_reason TEXT,
    disabled_at     TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

-- One message to one endpoint. status: pending (next_attempt_at says
-- when), delivered, failed (the schedule ran out). A worker claims a due
-- pending delivery by setting lease_until; a lease that runs out (the
-- worker died) makes it due again.
CREATE TABLE webhook_deliveries (
    id              INTEGER   PRIMARY KEY AUTOINCREMENT,
    endpoint_id     BIGINT    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    message_id      TEXT      NOT NULL,
    event           TEXT      NOT NULL,
    payload         TEXT      NOT NULL,
    status          TEXT      NOT NULL,
    attempts        INTEGER   NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until     TIMESTAMP,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);

CREATE TABLE webhook_attempts (
    id            INTEGER   PRIMARY KEY AUTOINCREMENT,
    delivery_id   BIGINT    NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at  TIMESTAMP NOT NULL,
    status_code   INTEGER,
    duration_ms   BIGINT    NOT NULL,
    error         TEXT,
    response_body TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

-- One row: the last change-log position the dispatcher turned into
-- deliveries. Locked FOR UPDATE (PostgreSQL) so one dispatcher runs at a time.
CREATE TABLE webhook_dispatch (
    id        INTEGER PRIMARY KEY,
    tx        BIGINT  NOT NULL,
    change_id BIGINT  NOT NULL
);
INSERT INTO webhook_dispatch (id, tx, change_id) VALUES (1, 0, 0);
