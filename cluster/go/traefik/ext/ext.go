// Package ext is where a distribution of Traefik adds fields to its dynamic configuration.
// Traefik's open-source build leaves every extension empty, and so does this stand-in.
package ext

// HTTP extends dynamic.HTTPConfiguration.
type HTTP struct{}

// Router extends dynamic.Router.
type Router struct{}

// RouterIng extends the router options of the Ingress provider's annotations.
type RouterIng struct{}

// ToRouter gives the Router extension of the annotations: none.
func (RouterIng) ToRouter() Router { return Router{} }
