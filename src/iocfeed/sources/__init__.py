"""Where raw records come from: files and feeds, and one reader per format. Readers never canonicalize."""
