"""Compute engines beyond one process: the same library functions run on Dask."""
