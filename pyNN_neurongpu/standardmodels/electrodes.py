"""Current sources (electrodes) of the neurongpu backend."""

__all__: list[str] = []
