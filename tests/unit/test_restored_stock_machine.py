"""The stock state machine's random sequences, each event applied to the state as a snapshot
restores it (pickled and unpickled, as Bytewax recovery does): the restored state equals the
live one and answers every event with the same outputs, so sharing values on restore
(`state.shared`) changes nothing a rule can see."""

from __future__ import annotations

import pickle

from hypothesis import HealthCheck, settings
from test_stock_state_machine import CATALOG, SKU, StockMachine

from state.apply import apply
from state.events import Event
from state.outputs import Output


class RestoredStockMachine(StockMachine):
    def feed(self, event: Event) -> tuple[Output, ...]:
        if self.stock is None:
            return super().feed(event)
        live, live_outputs = apply(self.stock, event, CATALOG, sku=SKU)
        restored = pickle.loads(pickle.dumps(self.stock))
        assert restored == self.stock
        self.stock = restored
        outputs = super().feed(event)
        assert (self.stock, outputs) == (live, live_outputs)
        return outputs


TestRestoredStockMachine = RestoredStockMachine.TestCase
TestRestoredStockMachine.settings = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
