"""skuflow's state package."""
