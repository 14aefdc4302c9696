"""The way into the cluster from outside: Gateway API and Ingress, both served by Traefik.

The `gateway` add-on (cluster/addons/gateway/) installs the Gateway API's standard CRDs, Traefik,
the GatewayClass and IngressClass `traefik`, and a shared Gateway that takes HTTPRoutes from
every namespace. Traefik's Service opens HTTP_PORT and HTTPS_PORT on every node, so a route is
reached at http://NODE-ADDRESS:HTTP_PORT/ (on kind, cluster/kind.yaml maps both to the laptop's
loopback).
"""

from __future__ import annotations

HTTP_PORT = 30800
HTTPS_PORT = 30443
NAMESPACE = "traefik"
CLASS = "traefik"  # the GatewayClass and the IngressClass
GATEWAY = "traefik-gateway"  # the shared Gateway, in NAMESPACE; its listener `web` is port 80
