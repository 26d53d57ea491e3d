"""govdata: real UK open data in one line, verified, cached and ready offline."""

__all__: list[str] = []
