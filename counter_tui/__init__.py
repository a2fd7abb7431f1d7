"""Counter TUI (档案窗口): service counter for personnel-archive institutions."""

__version__ = "0.1.0"
