"""skuflow's api package."""
