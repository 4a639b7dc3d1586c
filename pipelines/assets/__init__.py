"""Assets of the code location, one file per data product, grouped by folder."""
