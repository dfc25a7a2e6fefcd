"""The one shared market: the simulation every agent trades in, its books, and how a round changes them.

One module per job, from the values up to the store:

- `prices.py`: the seeded market as a value (`Market`, `MarketSnapshot`, `INSTRUMENTS`, `bar_rng`).
- `books.py`: an agent's book and its accounting (`Book`, `Fill`, `Position`, `START_CASH`).
- `report.py`: a book as the outside sees it (`BookReport`, `rank`), declared once for the API, the
  book frames, the book history, the OpenAPI document and the dashboard.
- `trading.py`: the orders and the order rule (`Order`, `parse_order`, `execute`, `check_exposure`)
  and the round's close (`close_round`).
- `state.py`: the whole simulation as a value (`SimulationState`).
- `storage.py`: the simulation's tables (`SimulationStore`).
- `round.py`: a round over the stored simulation, inside the store's transaction (`SharedMarket`).

This package's `__init__` imports nothing, so importing one of its modules (the generator imports
`prices.py` and `books.py`) never loads `round.py`, which imports the generator.
"""

__all__: list[str] = []
