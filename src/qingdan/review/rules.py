"""The review stage's rules: findings the review service adds to a submission's report."""

from __future__ import annotations

from dataclasses import dataclass

from qingdan.checks.findings import Finding, rule, run_stage, stage_rules
from qingdan.knowledge.rules import Rule


@dataclass(frozen=True, slots=True)
class SignerChange:
    package: str
    bound: list[str]  # the certificates of the app's reviewed versions
    signer: list[str]  # the new version's (none: unsigned)


@rule("review.signer-changed")
def _signer_changed(r: Rule, ch: SignerChange) -> list[Finding]:
    was, now = ch.bound, ch.signer
    return [Finding.of(r, "app",
                       f"{ch.package} 的此版本签名证书（{'、'.join(x[:16] for x in now) or '未签名'}）"
                       f"与已审核版本的（{'、'.join(x[:16] for x in was)}）不同。",
                       f"This version of {ch.package} is signed by "
                       f"{', '.join(x[:16] for x in now) or 'nothing'}, not by the certificate of its "
                       f"reviewed versions ({', '.join(x[:16] for x in was)}).",
                       bound_certificates=was, certificates=now)]


REVIEW_RULES = stage_rules("review")  # findings the review service adds to a submission's report


def signer_finding(package: str, bound: str, signer: str) -> dict:
    """The review.signer-changed finding, serialised like the scan's own findings."""
    change = SignerChange(package, bound.split(","), [s for s in signer.split(",") if s])
    (f,) = run_stage("review", change, only=("review.signer-changed",))
    return f.to_dict()
