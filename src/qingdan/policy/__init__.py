"""Privacy-policy analysis: read a policy (text/HTML, GBK or UTF-8), extract what it says
(:class:`PolicyFacts`), and compare it with the lists, the scan and the ledger."""

from qingdan.policy.extract import extract_facts
from qingdan.policy.model import PolicyDoc, PolicyFacts
from qingdan.policy.read import PolicyError, read_policy, read_policy_bytes

__all__ = ["PolicyDoc", "PolicyError", "PolicyFacts", "extract_facts", "read_policy", "read_policy_bytes"]
