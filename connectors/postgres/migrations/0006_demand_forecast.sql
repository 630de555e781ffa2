-- depends: 0005_reorder_proposal
--
-- Daily demand per SKU and site as the dataflow learnt it, with its forecasts
-- (`state.demand.published.DemandForecast`): one row per closed day.
--
-- Test-then-train: `forecast_mean` / `forecast_std` is what had been forecast for `day` before
-- the day was learnt; `next_mean` / `next_std` is the forecast for `day` + 1 once it was. The
-- horizon (`day` + 1 … `day` + n, means and standard deviations, one array element per day) is
-- held on the newest day of each close only; older days closed in the same step have empty
-- arrays. Units are base units per day.
--
-- Keyed by (sku, site, day) and written with ON CONFLICT DO NOTHING: the dataflow's outputs are
-- at-least-once and a replay of the sequenced log learns the same days to the same values, so a
-- replayed day adds nothing.

CREATE TABLE demand_forecast (
    sku            text             NOT NULL,
    site           text             NOT NULL,
    day            date             NOT NULL,
    actual         double precision NOT NULL CHECK (actual >= 0),
    forecast_mean  double precision,  -- NULL on a site's first day: nothing had been learnt
    forecast_std   double precision CHECK (forecast_std >= 0),
    next_mean      double precision NOT NULL,
    next_std       double precision NOT NULL CHECK (next_std >= 0),
    method         text             NOT NULL,
    pattern        text             NOT NULL,
    days_learnt    integer          NOT NULL CHECK (days_learnt > 0),
    horizon_mean   double precision[] NOT NULL DEFAULT '{}',
    horizon_std    double precision[] NOT NULL DEFAULT '{}',
    recorded_at    timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (sku, site, day),
    CONSTRAINT demand_forecast_horizon_pairs CHECK (
        cardinality(horizon_mean) = cardinality(horizon_std)
    )
);
