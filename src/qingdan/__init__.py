"""qingdan (清单): personal-information compliance for Chinese mobile apps."""

__version__ = "0.1.0"
