// Builds Traefik, the Gateway API and Ingress controller. Traefik is not made to be a dependency:
// three of its requirements are not on the module proxy, so d2k stands them in:
//   - github.com/traefik/traefik/dynamic/ext, a module inside Traefik's repository that is never
//     published: ./ext, its two empty extension points;
//   - Traefik's fork of go-http-auth (refused by the proxy): upstream v0.4.0 here, plus the two
//     functions the fork adds (_forks/go-http-auth, joined to it at build time);
//   - lego's DNS-01 providers, whose cloud SDKs the proxy refuses: lego is built without them
//     (_forks/lego). The ACME DNS challenge is the only thing lost; the workshop uses neither.
// The forks are wired in by a go.work file that d2k writes beside the build cache
// (gobuild.Fork), so this module builds only through d2k; `go mod tidy` cannot run here.
module docker2k8s.local/cluster/traefik

go 1.26.0

tool github.com/traefik/traefik/v3/cmd/traefik

require github.com/traefik/traefik/v3 v3.7.13

replace (
	github.com/abbot/go-http-auth => github.com/abbot/go-http-auth v0.4.0
	github.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59
	github.com/traefik/traefik/dynamic/ext => ./ext
)
