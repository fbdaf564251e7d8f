"""Geo: unit-grid polygons, the spatial index, locate(point) → grid and its region chain,
nearby searches, and conversion of Chinese map coordinates (GCJ-02, BD-09) to WGS84."""
