"""Forest carbon: stock in footprints (zonal statistics), the forest programmes' sink model and stand selection."""
