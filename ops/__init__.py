"""Running the whole stack on one machine: start, stop and diagnose it."""
