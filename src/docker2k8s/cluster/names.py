"""Names and addresses every workshop cluster shares, whichever provider runs it.

The labs and tests rely on them: the kubectl context, the Service network and the DNS address
are the same on the local cluster and on kind (cluster/kind.yaml sets the same networks).
"""

CONTEXT_NAME = "docker2k8s"
CLUSTER_DOMAIN = "cluster.local"
POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/16"
API_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
