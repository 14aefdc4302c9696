"""`python -m docker2k8s` is `d2k`."""

from docker2k8s.cli import main

main()
