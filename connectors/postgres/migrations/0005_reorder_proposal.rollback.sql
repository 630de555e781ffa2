DROP TABLE reorder_proposal;
