"""Adapters for public data sets: their vocabularies and annotations in calcdetect's terms."""
