"""Golden outputs: reports and traces that a speed change must leave byte-identical."""
