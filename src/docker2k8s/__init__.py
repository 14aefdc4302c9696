"""docker2k8s: learn Kubernetes as the analogue of the Docker you already know."""

__version__ = "0.1.0"
