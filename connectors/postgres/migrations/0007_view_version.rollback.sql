ALTER TABLE sku_supply DROP COLUMN version;
