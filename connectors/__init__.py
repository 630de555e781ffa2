"""skuflow's connectors package."""
