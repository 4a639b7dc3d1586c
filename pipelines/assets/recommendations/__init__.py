"""Recommendations: interactions -> candidates -> evaluation -> promotion -> publication to Redis,
plus personal offers from the RFM segments and the search index's popularity signal."""
