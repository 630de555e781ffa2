"""Demand learning and replenishment policy, as pure values (no I/O; mypy strict).

- `forecast`: the `Forecaster` contract, `update(y)` / `forecast(h) -> Forecast(mean, variance)`
  (units per period, units² per period), quantiles, and the tracked one-step error variance.
- `smoothing`: exponential smoothing with a seasonal (day-of-week) profile, multiplicative as
  ratios of sums (no division by a day's index) or additive; a pooled profile plugs in.
- `intermittent`: Croston, SBA and TSB. `baselines`: moving average and (seasonal) naive.
- `holt_winters`: river's Holt-Winters behind a start-up guard (river's pitfalls documented).
- `calendar`: a site's closed days (bank holidays, shutdowns): forecast 0, not learnt.
- `customers`: a SKU's demand as its customers' repeat orders (a renewal model per customer).
- `classify` / `selector`: ADI / CV² per series, and the method each pattern gets (measured).
- `daily`: event-time daily buckets with bounded lateness. `lead_time`: PO → ASN → receipt.
- `policy`: inventory position, safety stock, reorder point, order-up-to / EOQ, pack and MOQ
  rounding, ABC / XYZ service levels. `proposals`: `ReorderProposed` and raise-once logic.
- `published`: `DemandForecast`, each closed day with the forecast made for it, the next day's
  and a short horizon (what the flow writes to `demand_forecast`), and the 80% / 95% bands.
- `evaluation` / `simulation`: test-then-train accuracy and the replenishment simulation the
  benchmarks run (`skuflow bench forecast`, `skuflow bench replenishment`).

`state.replenishment` ties them together per SKU for the dataflow.
"""
