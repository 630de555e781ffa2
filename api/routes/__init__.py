"""One router per resource: ATP, stock, orders, events, the ledger, and operations."""
