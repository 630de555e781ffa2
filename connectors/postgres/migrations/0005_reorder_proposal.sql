-- depends: 0004_routing_decision
--
-- Reorder proposals (`state.demand.proposals.ReorderProposed`) and what buyers decided.
--
-- The dataflow writes each proposal once, keyed by its id (`rp:<sku>:<site>:<n>`, deterministic),
-- with ON CONFLICT DO NOTHING: outputs are at-least-once and a replay raises the same ids, and a
-- replayed proposal never overwrites a buyer's decision. The API moves `status` from 'proposed'
-- to 'approved' (recording the purchase order it published) or 'rejected', never back.
-- Quantities are base units; `reasoning` holds the whole decision as JSON (forecast per day and
-- its spread, lead time in days, safety stock, reorder point, order-up-to level, position).

CREATE TABLE reorder_proposal (
    proposal_id       text        PRIMARY KEY,
    sku               text        NOT NULL,
    site              text        NOT NULL,
    supplier          text        NOT NULL,
    proposed_at       timestamptz NOT NULL,  -- event time of the crossing
    quantity          bigint      NOT NULL CHECK (quantity > 0),
    reorder_point     double precision NOT NULL,
    position          bigint      NOT NULL,
    reasoning         jsonb       NOT NULL,
    status            text        NOT NULL DEFAULT 'proposed'
                                  CHECK (status IN ('proposed', 'approved', 'rejected')),
    decided_at        timestamptz,
    decided_by        text,
    decision_note     text,
    purchase_order_id text,
    recorded_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT reorder_proposal_decided_when_not_proposed CHECK (
        (status = 'proposed') = (decided_at IS NULL)
    ),
    CONSTRAINT reorder_proposal_approval_names_its_order CHECK (
        (status = 'approved') = (purchase_order_id IS NOT NULL)
    )
);

CREATE INDEX reorder_proposal_by_status ON reorder_proposal (status, proposed_at, proposal_id);
CREATE INDEX reorder_proposal_by_sku ON reorder_proposal (sku, site, proposed_at);
