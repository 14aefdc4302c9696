"""Graded checks for lab notebooks.

In a notebook cell::

    from docker2k8s.grading import check, kube

    check("the inference Pod is Ready", lambda: kube.pod_ready("inference", "lab03"),
          hint="apply inference-pod.yaml and wait for it with kubectl wait")

prints ``PASS the inference Pod is Ready`` or
``FAIL the inference Pod is Ready: <hint>; <what was seen>``, and records it for ``d2k grade``.
"""

from docker2k8s.grading.checks import CheckFailed, Result, check

__all__ = ["CheckFailed", "Result", "check"]
