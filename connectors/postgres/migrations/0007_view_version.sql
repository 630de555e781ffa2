-- depends: 0006_demand_forecast
--
-- The version of each SKU's stored view (`state.stock.SkuStock.version`: how many events the
-- SKU has taken in). The writer replaces a SKU's current_stock, sku_supply and sku_atp rows only
-- with a view of at least the stored version, so the stored view never goes back in time: not
-- even when a run resumed after a crash writes again a view the crashed run had since replaced.
-- Rows written before this column existed are version 0: any view replaces them.

ALTER TABLE sku_supply ADD COLUMN version bigint NOT NULL DEFAULT 0 CHECK (version >= 0);
