// Command registry is CNCF Distribution's registry with only what the workshop cluster uses: the
// filesystem storage driver (its data on a PersistentVolume) and htpasswd authentication (the
// protected registry that teaches imagePullSecrets). Upstream's cmd/registry also links the
// S3, Azure and GCS drivers, which would triple the build for nothing used here.
package main

import (
	"os"

	"github.com/distribution/distribution/v3/registry"
	_ "github.com/distribution/distribution/v3/registry/auth/htpasswd"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem"
)

func main() {
	if err := registry.RootCmd.Execute(); err != nil {
		os.Exit(1)
	}
}
