"""UI dumps (uiautomator XML, GKD JSON snapshots) → :class:`ScreenFacts` → splash/popup findings."""

from qingdan.ui.check import THRESHOLDS, UI_RULES, check_screen
from qingdan.ui.model import Node, ScreenFacts
from qingdan.ui.read import UiError, read_dump

__all__ = ["THRESHOLDS", "UI_RULES", "Node", "ScreenFacts", "UiError", "check_screen", "read_dump"]
