DROP TABLE demand_forecast;
