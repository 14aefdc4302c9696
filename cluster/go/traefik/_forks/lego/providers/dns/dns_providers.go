// Package dns replaces lego's registry of DNS-01 providers in the Traefik build: each provider
// links a cloud SDK that the Go module proxy here refuses. Traefik reports an ACME resolver
// with a DNS challenge as unknown; HTTP-01 and TLS-ALPN-01 challenges are not affected.
package dns

import (
	"fmt"

	"github.com/go-acme/lego/v5/challenge"
)

// NewDNSChallengeProviderByName knows no provider in this build.
func NewDNSChallengeProviderByName(name string) (challenge.Provider, error) {
	return nil, fmt.Errorf("unrecognized DNS provider: %s (DNS challenges are not built into the workshop's Traefik)", name)
}
