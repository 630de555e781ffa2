-- depends: 0002_dead_letter
--
-- The latest `state.views.SkuView` of every SKU, as absolute values: the writer replaces a SKU's
-- rows with its newest view, so replaying events can never double a number. `updated_at` is the
-- time of the last event applied (the view's clock), not the time the row was written.
--
-- The constraints make an impossible balance unstorable: no bucket is ever negative, and
-- on_hand is exactly the sum of the five on-hand buckets (state.buckets).

CREATE TABLE current_stock (
    sku           text        NOT NULL,
    location      text        NOT NULL,  -- a bin path
    lot           text        NOT NULL,  -- '' when the SKU is not lot-tracked
    available     bigint      NOT NULL CHECK (available >= 0),
    allocated     bigint      NOT NULL CHECK (allocated >= 0),
    on_hold       bigint      NOT NULL CHECK (on_hold >= 0),
    damaged       bigint      NOT NULL CHECK (damaged >= 0),
    quarantined   bigint      NOT NULL CHECK (quarantined >= 0),
    on_hand       bigint      NOT NULL,
    updated_at    timestamptz NOT NULL,
    last_event_id text        NOT NULL,
    PRIMARY KEY (sku, location, lot),
    CONSTRAINT current_stock_on_hand_is_the_sum CHECK (
        on_hand = available + allocated + on_hold + damaged + quarantined
    )
);

CREATE INDEX current_stock_location ON current_stock (location);

-- Supply that is not on hand, kept per SKU (state.buckets).
CREATE TABLE sku_supply (
    sku           text        PRIMARY KEY,
    in_transit    bigint      NOT NULL CHECK (in_transit >= 0),
    on_order      bigint      NOT NULL CHECK (on_order >= 0),
    updated_at    timestamptz NOT NULL,
    last_event_id text        NOT NULL
);

-- Every ATP figure of a SKU (state.atp): one network row (name ''), one per site, one per channel.
CREATE TABLE sku_atp (
    sku        text        NOT NULL,
    scope      text        NOT NULL CHECK (scope IN ('network', 'site', 'channel')),
    name       text        NOT NULL,
    atp        bigint      NOT NULL CHECK (atp >= 0),
    as_of      date        NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (sku, scope, name),
    CONSTRAINT sku_atp_network_is_unnamed CHECK ((scope = 'network') = (name = ''))
);
