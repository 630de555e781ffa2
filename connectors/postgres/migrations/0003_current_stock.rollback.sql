DROP TABLE sku_atp;
DROP TABLE sku_supply;
DROP TABLE current_stock;
