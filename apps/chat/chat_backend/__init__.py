"""Chat backend of the docker2k8s running example: conversations in MySQL/MariaDB, answers from
a TGI-compatible (or OpenAI-compatible) inference server."""
