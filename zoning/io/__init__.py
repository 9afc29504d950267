"""Read and write: vector files and encodings, atomic outputs, the layer catalog and layer set, sites, layer checks."""
