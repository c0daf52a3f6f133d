"""``python -m serving``: run the scorer (see serving.main)."""

from serving.main import main

main()
