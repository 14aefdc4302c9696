// A tiny test program for the cluster tests: HTTP server, HTTP client and file helpers.
module docker2k8s.local/tests/echo

go 1.24.0
