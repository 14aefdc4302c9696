"""Graded checks for lab notebooks.

In a notebook cell::

    from docker2k8s.grading import check, kube

    check("the inference Pod is Ready", lambda: kube.pod_ready("inference", "lab03"),
          hint="apply inference-pod.yaml and wait for it with kubectl wait")

prints ``PASS the inference Pod is Ready`` or
``FAIL the inference Pod is Ready: <hint>; <what was seen>``. Only ``d2k grade`` scores: it runs
the solution's check cells in its own process (grader.py).
"""

from docker2k8s.grading.checks import Result, check

__all__ = ["Result", "check"]
