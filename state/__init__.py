"""skuflow's pure inventory core: frozen values and the rules that change them, with no I/O.

Entry point: `state.apply.apply(state | None, event, catalog, *, sku=None) -> (state, outputs)`.

- Vocabulary: `events` (pydantic event models, JSON Schema, `skus_of` for keying), `gs1`
  (barcodes and SGTIN-96 EPCs), `catalog` (SKUs, units, kits, locations, channels), `units`.
- State: `stock` (`SkuStock`, one per SKU), `buckets` (`Quantities`).
- Rules: `positions` (the one place buckets move), `counting` (cycle counts), `allocation`
  (FEFO reservation and release), `floor`, `fulfilment`, `commercial` (one rule per event),
  `checks` (field checks), `rejections` (reason codes).
- Figures and outputs: `atp` (ATP formulas), `outputs` (movements, rejections, decisions).
- Routing: `routing_policy` (rate table and cost model parameters), `routing` (plans: which
  site ships each order line, and the baselines), `routing_outcome` (`OrderRouted`).
- Edges: `intake` (bytes to events or dead letters), `ledger` (ledger entries), `views` (live
  view snapshots).
"""
