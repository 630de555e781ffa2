-- depends: 0003_current_stock
--
-- One explained routing decision per order (`state.routing_outcome.OrderRouted`): the sites that
-- ship it, what was allocated, backordered and rejected, the committed and planned costs, and
-- the whole decision (lines, cost breakdown, alternatives considered) as JSON in `detail`.
--
-- Keyed by order id and written with ON CONFLICT DO NOTHING: the dataflow's outputs are
-- at-least-once and a replay of the sequenced log assembles the same decision, so the first
-- row written is the decision. Units are base units; costs are in the routing policy's currency.

CREATE TABLE routing_decision (
    order_id      text             PRIMARY KEY,
    event_id      text             NOT NULL,  -- the OrderPlaced the decision was made on
    decided_at    timestamptz      NOT NULL,  -- its event time
    region        text             NOT NULL,
    zone          text             NOT NULL,
    strategy      text             NOT NULL,
    sites         text[]           NOT NULL,  -- where units were reserved
    split         boolean          NOT NULL,
    ordered       bigint           NOT NULL CHECK (ordered >= 0),
    allocated     bigint           NOT NULL CHECK (allocated >= 0),
    backordered   bigint           NOT NULL CHECK (backordered >= 0),
    rejected      bigint           NOT NULL CHECK (rejected >= 0),
    cost          double precision NOT NULL CHECK (cost >= 0),
    planned_cost  double precision NOT NULL CHECK (planned_cost >= 0),
    detail        jsonb            NOT NULL,
    recorded_at   timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT routing_decision_accounts_for_every_unit CHECK (
        allocated + backordered + rejected = ordered
    )
);

-- Pages of decisions in time order (keyset on decided_at, order_id), optionally by zone.
CREATE INDEX routing_decision_time ON routing_decision (decided_at, order_id);
CREATE INDEX routing_decision_zone_time ON routing_decision (zone, decided_at, order_id);
