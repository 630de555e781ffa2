"""skuflow's dataflows package."""
