DROP TABLE routing_decision;
