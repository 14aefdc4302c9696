"""A CPU stand-in for Hugging Face text-generation-inference, for the docker2k8s workshop."""
