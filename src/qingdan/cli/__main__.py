"""``python -m qingdan.cli``."""

from qingdan.cli import main

if __name__ == "__main__":
    main()
