"""Screening: overlay of sites on the layers, project attributes, the rule engine and the result model."""
